"""Reading uploaded CSV files: encoding detection (UTF-8 with or without BOM, CP932) and shape checks.

Japanese Excel writes CSV as CP932 (Shift_JIS with Microsoft's extensions); everything else we
accept is UTF-8. The market stores every dataset as UTF-8 without BOM.

Caps on columns, header size and cell size bound the work one upload can cause: every later step
(personal-data detection, quality, anonymization) costs at least one pass per column, and a
379 kB file of 30,000 columns once kept the server busy for 23 seconds (docs/security.md).
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from anonymize.text import decode_japanese_text
from market.errors import UploadRejected

_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DEFAULT_MAX_COLUMNS = 1_000
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_CELL_CHARS = 32 * 1024
SCAN_SLICE = 1 << 20


@dataclass(frozen=True)
class ParsedCsv:
    """An accepted upload: normalized UTF-8 bytes and what they hold."""

    data: bytes
    columns: list[str]
    row_count: int
    source_encoding: str


def decode_csv_bytes(raw: bytes) -> tuple[str, str]:
    """Return (text, encoding name) for UTF-8 (with or without BOM) or CP932 input."""
    try:
        text, encoding = decode_japanese_text(raw)
    except UnicodeDecodeError:
        text, encoding = "", ""
    if not encoding or _has_control_characters(text):
        raise UploadRejected(
            "the file is neither UTF-8 nor CP932 (Shift_JIS) text; "
            "save it as CSV UTF-8 or as Excel's CSV and upload again"
        )
    return text, encoding


def _has_control_characters(text: str) -> bool:
    # In slices, so that one regular-expression call never holds the interpreter for long.
    return any(
        _CONTROL.search(text, start, start + SCAN_SLICE)
        for start in range(0, len(text), SCAN_SLICE)
    )


def parse_csv_upload(
    raw: bytes,
    *,
    max_bytes: int,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS,
) -> ParsedCsv:
    """Validate an uploaded CSV and normalize it to UTF-8; raise UploadRejected with the reason.

    Rows stream from the reader to the writer one at a time: holding millions of row lists at
    once made the garbage collector stop the whole process for seconds on a 50 MB file.
    """
    if len(raw) > max_bytes:
        raise UploadRejected(
            f"the file is {len(raw):,} bytes, over the {max_bytes:,}-byte limit; split it and upload the parts"
        )
    if not raw or raw.isspace():
        raise UploadRejected("the file is empty; upload a CSV with a header row and data rows")
    _check_header_size(raw, max_header_bytes)
    text, encoding = decode_csv_bytes(raw)
    rows = _read_rows(text, max_columns=max_columns, max_cell_chars=max_cell_chars)
    header = [cell.strip() for cell in next(rows)]
    _check_header(header)
    out = CsvWriter(carriage_returns="\r" in text)
    out.write(header)
    row_count = 0
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise UploadRejected(
                f"row {number} has {len(row)} fields but the header has {len(header)}; "
                "every row must have one field per column"
            )
        out.write(row)
        row_count += 1
    if not row_count:
        raise UploadRejected("the file has a header but no data rows")
    return ParsedCsv(out.getvalue(), header, row_count, encoding)


class CsvWriter:
    """Rows to UTF-8 CSV with `\\n` line ends, one row at a time.

    Python's writer quotes a cell holding `\\n` but not one holding a lone `\\r`, which a reader
    then takes for a line end: rows with such a cell are written fully quoted. With
    `carriage_returns=False` (no cell can hold one) the check is skipped.
    """

    def __init__(self, *, carriage_returns: bool = True) -> None:
        self._out = io.StringIO(newline="")
        self._plain = csv.writer(self._out, lineterminator="\n")
        self._quoted = csv.writer(self._out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        self._carriage_returns = carriage_returns

    def write(self, row: list[str]) -> None:
        if self._carriage_returns and "\r" in "".join(row):
            self._quoted.writerow(row)
        else:
            self._plain.writerow(row)

    def getvalue(self) -> bytes:
        return self._out.getvalue().encode("utf-8")


def _check_header_size(raw: bytes, max_header_bytes: int) -> None:
    """Refuse a first line over the cap before decoding or parsing anything."""
    first_line = raw.find(b"\n", 0, max_header_bytes + 1)
    if first_line == -1 and len(raw) > max_header_bytes:
        raise UploadRejected(
            f"the header row is over the {max_header_bytes:,}-byte limit; "
            "shorten the column names or split the table into several files"
        )


def _read_rows(text: str, *, max_columns: int, max_cell_chars: int) -> Iterator[list[str]]:
    """Non-empty rows of the CSV text; the column cap is checked on the header before the rest."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    first = True
    try:
        for row in reader:
            if not row:
                continue
            if first and len(row) > max_columns:
                raise UploadRejected(
                    f"the header has {len(row):,} columns, over the {max_columns:,}-column limit; "
                    "split the table into several files that share a key column"
                )
            first = False
            if max(map(len, row)) > max_cell_chars:
                raise UploadRejected(_cell_too_large(reader.line_num, max_cell_chars))
            yield row
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise UploadRejected(_cell_too_large(reader.line_num, max_cell_chars)) from None
        raise UploadRejected(f"the file is not valid CSV ({exc}); check quoting") from None


def _cell_too_large(line: int, max_cell_chars: int) -> str:
    return (
        f"a cell on line {line:,} is over the {max_cell_chars:,}-character limit; "
        "store long texts elsewhere and upload a reference to them"
    )


def _check_header(header: list[str]) -> None:
    if any(not name for name in header):
        raise UploadRejected("the header row has an empty column name; name every column")
    if len(set(header)) != len(header):
        raise UploadRejected("the header row repeats a column name; column names must be unique")
    if all(_NUMBER.match(name) for name in header):
        raise UploadRejected(
            "the first row looks like data, not a header; add a header row naming the columns"
        )
