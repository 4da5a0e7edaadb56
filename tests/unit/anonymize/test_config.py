"""The config rejects contradictory or impossible combinations with actionable errors."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymize import (
    Algorithm,
    ColumnKind,
    ColumnSpec,
    Config,
    ContradictoryConfig,
    Definition,
    DistinctLDiversity,
    InfoCategory,
    KAnonymity,
    TCloseness,
    UnknownColumn,
)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Config(()),
        lambda: Config((KAnonymity(1),)),
        lambda: Config((KAnonymity(5), KAnonymity(3))),
        lambda: Config((DistinctLDiversity("d", 2),)),
        lambda: Config((KAnonymity(5),), suppression_limit=1.5),
        lambda: Config((KAnonymity(5), TCloseness("d", 0.0))),
        lambda: Config((KAnonymity(5), DistinctLDiversity("d", 1))),
        lambda: Config((KAnonymity(5),), algorithm=Algorithm.MONDRIAN, suppression_limit=0.1),
        lambda: Config((KAnonymity(2), DistinctLDiversity("d", 3)), algorithm=Algorithm.MONDRIAN),
    ],
)
def test_contradictory_configs_are_rejected(make):
    with pytest.raises(ContradictoryConfig):
        make()


def test_diversity_of_a_column_that_is_not_sensitive_is_rejected():
    definition = Definition.of(quasi=["age"], insensitive=["d"])
    with pytest.raises(ContradictoryConfig, match="not defined as sensitive"):
        Config((KAnonymity(2), DistinctLDiversity("d", 2))).check_against(definition)


def test_criterion_on_unknown_column_is_named():
    definition = Definition.of(quasi=["age"])
    with pytest.raises(UnknownColumn, match="disease"):
        Config((KAnonymity(2), TCloseness("disease", 0.2))).check_against(definition)


def test_definition_must_cover_every_column():
    from anonymize import UndefinedColumn

    with pytest.raises(UndefinedColumn, match="extra"):
        Definition.of(quasi=["age"]).check_against(pd.DataFrame(columns=["age", "extra"]).columns)


@pytest.mark.parametrize(
    "spec",
    [
        ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.NAME),
        ColumnSpec(ColumnKind.INSENSITIVE, InfoCategory.MY_NUMBER),
        ColumnSpec(ColumnKind.SENSITIVE, InfoCategory.EMAIL),
    ],
)
def test_definitions_that_would_release_identifiers_are_refused(spec):
    with pytest.raises(ContradictoryConfig, match="require deleted"):
        Definition({"x": spec}).check_standards()


def test_addresses_and_birth_dates_get_a_floor_even_when_none_is_given():
    from anonymize.definition import effective_floor

    assert effective_floor(ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.ADDRESS)) == 1
    # Dates to the year (level 2 of the date hierarchy), not year-month (level 1).
    assert effective_floor(ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.BIRTH_DATE)) == 2
    assert effective_floor(ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.DATE)) == 2
    assert effective_floor(ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.AGE)) == 0
