"""Datasets: upload (validated, normalized, encrypted at rest), quality measurement and delivery."""

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session, select

import anonymize as an
from anonymize.linkable import detect_linkable
from market.csv_ingest import ParsedCsv, parse_csv_upload
from market.errors import Forbidden, InvalidRequest, NotFound, UploadRejected
from market.events import record_event
from market.models import Dataset, Licence, Participant, utcnow
from market.quality import DatasetSchema, QualityReport
from market.quality.assess import assess, schema_json
from market.ratings.record import rescore_dataset, seller_credibility
from market.vocabulary import SELLER_KINDS, DataClass

UPLOADABLE_CLASSES = (DataClass.PERSONAL, DataClass.NON_PERSONAL)


def measure_quality(
    frame: pd.DataFrame,
    schema: DatasetSchema | None = None,
    *,
    public_report: dict[str, Any] | None = None,
) -> QualityReport:
    """A stored table's quality, measured now against its declaration (docs/quality.md)."""
    return assess(frame, schema, now=utcnow(), public_report=public_report)


def csv_frame(data: bytes) -> pd.DataFrame:
    """A stored UTF-8 CSV as a table of strings."""
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")


def propose_columns(data: bytes) -> dict[str, dict[str, str]]:
    """The detector's proposal of each column's role, for the seller to confirm or edit."""
    proposal = an.detect_definition(csv_frame(data))
    return {
        p.column: {"kind": p.spec.kind.value, "category": p.spec.category.value, "reason": p.reason}
        for p in proposal.columns
    }


def content_digest(frame: pd.DataFrame) -> str:
    """A digest of a table's rows that ignores row order, column order and CSV quoting.

    A delivered copy carries its licence's fingerprint in its row order and quoting
    (docs/delivery.md), so its bytes differ from the original's while its content does not:
    uploading a bought copy again is recognised by this digest, not by the bytes' sha256.
    """
    columns = sorted(frame.columns)
    hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    digest = hashlib.sha256()
    digest.update("\x1f".join(columns).encode())
    digest.update(b"\x00")
    digest.update(np.sort(hashes).tobytes())
    return digest.hexdigest()


def require_no_personal_data(parsed: ParsedCsv) -> None:
    """Refuse a `non_personal` upload in which the detector finds identifying columns.

    Data about no person can still identify one (the seed paper warns of this), so data listed
    without anonymization is scanned first; quasi-identifiers such as a sensor's location pass.
    """
    found = [
        f"{column} ({role['reason']})"
        for column, role in propose_columns(parsed.data).items()
        if role["kind"] == "identifying"
    ]
    if found:
        raise UploadRejected(
            "this looks like personal data, not non_personal: "
            + "; ".join(found)
            + ". Upload it as data_class 'personal' and anonymize it, or remove those columns"
        )


@dataclass(frozen=True)
class AnalysedUpload:
    """An upload parsed, scanned and scored: everything `create_dataset` needs of the file."""

    parsed: ParsedCsv
    quality: dict[str, Any]
    quality_score: int
    # Columns a buyer could link to a person (個人関連情報), by anonymize.linkable.
    linkable_columns: tuple[str, ...] = ()
    content_digest: str | None = None


def require_uploadable(*, seller: Participant, data_class: str) -> None:
    """Refuse an upload by a participant who cannot sell, or of a class nobody uploads."""
    if seller.kind not in SELLER_KINDS:
        raise Forbidden("only businesses, individuals and information banks can sell data")
    if data_class not in UPLOADABLE_CLASSES:
        raise InvalidRequest(
            "anonymized data (匿名加工情報) is produced only by an anonymization job: upload the "
            "personal data as data_class 'personal' and start a job (POST /anonymization-jobs)"
        )


def analyse_upload(
    raw: bytes,
    *,
    caps: dict[str, int],
    data_class: str,
    schema: DatasetSchema | None,
    now: datetime,
) -> AnalysedUpload:
    """Parse, scan (non_personal data) and score an upload: pure, so it may run in a worker."""
    parsed = parse_csv_upload(raw, **caps)
    if data_class == DataClass.NON_PERSONAL:
        require_no_personal_data(parsed)
    frame = csv_frame(parsed.data)
    quality = assess(frame, schema, now=now)
    linkable = tuple(found.column for found in detect_linkable(frame))
    return AnalysedUpload(parsed, quality.to_dict(), quality.score, linkable, content_digest(frame))


def create_dataset(
    *,
    session: Session,
    dataset_id: str,
    seller: Participant,
    analysed: AnalysedUpload,
    title: str,
    category: str,
    data_class: str,
    description: str = "",
    tags: list[str] | None = None,
    schema: DatasetSchema | None = None,
) -> Dataset:
    """Record an analysed upload whose encrypted bytes are already stored under `dataset_id`."""
    require_uploadable(seller=seller, data_class=data_class)
    parsed = analysed.parsed
    dataset = Dataset(
        id=dataset_id,
        seller_id=seller.id,
        title=title,
        description=description,
        category=category,
        data_class=data_class,
        columns=parsed.columns,
        tags=sorted(set(tags or [])),
        row_count=parsed.row_count,
        size_bytes=len(parsed.data),
        source_encoding=parsed.source_encoding,
        sha256=hashlib.sha256(parsed.data).hexdigest(),
        content_digest=analysed.content_digest,
        quality_score=analysed.quality_score,
        quality=analysed.quality,
        data_schema=schema_json(schema),
        linkable_columns=list(analysed.linkable_columns),
    )
    # The seller's record is part of every score it earns (docs/quality.md, credibility).
    credibility = seller_credibility(session=session, seller_id=seller.id)
    if credibility is not None:
        rescore_dataset(session=session, dataset=dataset, credibility=credibility)
    session.add(dataset)
    record_event(
        session,
        "DatasetUploaded",
        {"dataset_id": dataset.id, "seller_id": seller.id, "rows": parsed.row_count},
    )
    return dataset


def get_dataset(*, session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} does not exist")
    return dataset


def require_download_right(*, session: Session, participant: Participant, dataset: Dataset) -> None:
    """Allow the dataset's seller and holders of a live licence; refuse everyone else."""
    if participant.id == dataset.seller_id:
        return
    licences = session.exec(
        select(Licence).where(
            Licence.dataset_id == dataset.id,
            Licence.buyer_id == participant.id,
            Licence.revoked_at == None,  # noqa: E711
        )
    ).all()
    now = utcnow()
    if not any(lic.expires_at is None or lic.expires_at > now for lic in licences):
        raise Forbidden(
            f"you hold no live licence for dataset {dataset.id} (none, expired or revoked); "
            "bid for it to obtain one"
        )
