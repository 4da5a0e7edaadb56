"""Reading uploaded CSV files: encoding detection (UTF-8 with or without BOM, CP932) and shape checks.

Japanese Excel writes CSV as CP932 (Shift_JIS with Microsoft's extensions); everything else we
accept is UTF-8. The market stores every dataset as UTF-8 without BOM.
"""

import csv
import io
import re
from dataclasses import dataclass

from market.errors import UploadRejected

UTF8_BOM = b"\xef\xbb\xbf"
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ParsedCsv:
    """An accepted upload: normalized UTF-8 bytes and what they hold."""

    data: bytes
    columns: list[str]
    row_count: int
    source_encoding: str


def decode_csv_bytes(raw: bytes) -> tuple[str, str]:
    """Return (text, encoding name) for UTF-8 (with or without BOM) or CP932 input."""
    if raw.startswith(UTF8_BOM):
        candidates = [("utf-8-sig", raw)]
    else:
        candidates = [("utf-8", raw), ("cp932", raw)]
    for encoding, payload in candidates:
        try:
            text = payload.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            break
        return text, encoding
    raise UploadRejected(
        "the file is neither UTF-8 nor CP932 (Shift_JIS) text; "
        "save it as CSV UTF-8 or as Excel's CSV and upload again"
    )


def parse_csv_upload(raw: bytes, *, max_bytes: int) -> ParsedCsv:
    """Validate an uploaded CSV and normalize it to UTF-8; raise UploadRejected with the reason."""
    if len(raw) > max_bytes:
        raise UploadRejected(
            f"the file is {len(raw):,} bytes, over the {max_bytes:,}-byte limit; split it and upload the parts"
        )
    if not raw.strip():
        raise UploadRejected("the file is empty; upload a CSV with a header row and data rows")
    text, encoding = decode_csv_bytes(raw)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise UploadRejected(f"the file is not valid CSV ({exc}); check quoting") from None
    rows = [row for row in rows if row]
    header = [cell.strip() for cell in rows[0]]
    _check_header(header)
    data_rows = rows[1:]
    if not data_rows:
        raise UploadRejected("the file has a header but no data rows")
    for number, row in enumerate(data_rows, start=2):
        if len(row) != len(header):
            raise UploadRejected(
                f"row {number} has {len(row)} fields but the header has {len(header)}; "
                "every row must have one field per column"
            )
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(data_rows)
    return ParsedCsv(out.getvalue().encode("utf-8"), header, len(data_rows), encoding)


def _check_header(header: list[str]) -> None:
    if any(not name for name in header):
        raise UploadRejected("the header row has an empty column name; name every column")
    if len(set(header)) != len(header):
        raise UploadRejected("the header row repeats a column name; column names must be unique")
    if all(_NUMBER.match(name) for name in header):
        raise UploadRejected(
            "the first row looks like data, not a header; add a header row naming the columns"
        )
