"""Caps on what one upload may hold, and cells that survive normalization (issue 9, items 1, 12)."""

import csv
import io

import pytest

from market.csv_formulas import count_formula_cells, excel_safe, is_formula_like
from market.csv_ingest import parse_csv_upload
from market.errors import UploadRejected


def parse(raw: bytes, **caps: int):  # type: ignore[no-untyped-def]
    return parse_csv_upload(raw, max_bytes=10_000_000, **caps)


def test_refuses_more_columns_than_the_cap() -> None:
    raw = (",".join(f"c{i}" for i in range(11)) + "\n" + ",".join("1" * 11) + "\n").encode()
    with pytest.raises(UploadRejected, match="11 columns, over the 10-column limit"):
        parse(raw, max_columns=10)
    assert parse(raw, max_columns=11).columns[-1] == "c10"


def test_refuses_a_header_over_the_size_cap_before_parsing() -> None:
    header = ",".join(f"column_{i}" for i in range(200))
    raw = f"{header}\n{','.join('1' * 200)}\n".encode()
    with pytest.raises(UploadRejected, match="header row is over the 1,000-byte limit"):
        parse(raw, max_header_bytes=1_000)
    assert parse(raw, max_header_bytes=len(header)).row_count == 1


@pytest.mark.parametrize("size", [101, 200_000])
def test_refuses_a_cell_over_the_size_cap(size: int) -> None:
    raw = b"a,b\n1," + b"x" * size + b"\n"
    with pytest.raises(UploadRejected, match="a cell on line 2 is over the 100-character limit"):
        parse(raw, max_cell_chars=100)


def test_a_cell_with_a_carriage_return_survives_normalization() -> None:
    parsed = parse(b'a,b\n"x\ry",2\n"plain",3\n')
    rows = list(csv.reader(io.StringIO(parsed.data.decode(), newline="")))
    assert rows == [["a", "b"], ["x\ry", "2"], ["plain", "3"]]


@pytest.mark.parametrize(
    ("cell", "formula"),
    [
        ("=1+2", True),
        ("+81-3-1234", True),
        ("-2+3+cmd|' /C calc'!A0", True),
        ("@SUM(A1)", True),
        ("\tx", True),
        ("\rx", True),
        ("-5", False),
        ("+81", False),
        ("-1.5e3", False),
        ("a=b", False),
        ("", False),
    ],
)
def test_formula_like_cells(cell: str, formula: bool) -> None:
    assert is_formula_like(cell) is formula


def test_excel_safe_prefixes_only_formula_cells_and_keeps_the_rest() -> None:
    data = b'a,b,c\n=1+2,-5,"x,y"\n@x,"\r=",ok\n'
    assert count_formula_cells(data) == 3
    rows = list(csv.reader(io.StringIO(excel_safe(data).decode(), newline="")))
    assert rows == [["a", "b", "c"], ["'=1+2", "-5", "x,y"], ["'@x", "'\r=", "ok"]]
    plain = b"a,b\n1,-2\n"
    assert count_formula_cells(plain) == 0
    assert excel_safe(plain) == plain
