"""Cells a spreadsheet would run as formulas (CSV injection), found and optionally neutralized.

The market delivers data as stored: buyers rely on exact values. But a cell that begins with
`=`, `+`, `-`, `@`, a tab or a carriage return can run as a formula when the file is opened in
Excel or LibreOffice (OWASP "CSV Injection"). So a delivery says when such cells are present,
and on request prefixes each with `'`, which spreadsheets read as "text follows". Plain numbers
(`-5`, `+81`, `-1.5e3`) are never formulas and are left alone.
"""

import csv
import io
import re

from market.csv_ingest import CsvWriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A cheap first look at the raw bytes: a field starting (possibly after a quote) with a trigger.
_MAYBE = re.compile(rb'(?:^|[,\n])"?[=+\-@\t\r]')
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_formula_like(cell: str) -> bool:
    return cell.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(cell)


def count_formula_cells(data: bytes) -> int:
    """How many cells of a UTF-8 CSV a spreadsheet could run as formulas."""
    if not _MAYBE.search(data):
        return 0
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    return sum(1 for row in reader for cell in row if is_formula_like(cell))


def excel_safe(data: bytes) -> bytes:
    """The CSV with `'` before every formula-like cell; every other byte of every cell unchanged."""
    if not _MAYBE.search(data):
        return data
    out = CsvWriter()
    for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
        out.write(["'" + cell if is_formula_like(cell) else cell for cell in row])
    return out.getvalue()
