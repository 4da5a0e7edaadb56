"""Quality scoring: a dataset's 0-100 score with every component shown and explained (docs/quality.md)."""

from market.quality.declaration import ColumnSchema, DatasetSchema, DeclarationMismatch
from market.quality.measures import AnonymizationFigures, Credibility
from market.quality.report import WEIGHTS, Component, QualityReport
from market.quality.scoring import score_table

__all__ = [
    "WEIGHTS",
    "AnonymizationFigures",
    "ColumnSchema",
    "Component",
    "Credibility",
    "DatasetSchema",
    "DeclarationMismatch",
    "QualityReport",
    "score_table",
]
