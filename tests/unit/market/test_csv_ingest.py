import pytest

from market.csv_ingest import parse_csv_upload
from market.errors import UploadRejected

LIMIT = 10_000
JAPANESE = "地点,気温\n東京,12\n大阪,14\n"


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return parse_csv_upload(raw, max_bytes=LIMIT)


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (JAPANESE.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + JAPANESE.encode("utf-8"), "utf-8-sig"),
        (JAPANESE.encode("cp932"), "cp932"),
        (JAPANESE.replace("\n", "\r\n").encode("shift_jis"), "cp932"),
    ],
)
def test_accepts_utf8_bom_and_cp932_and_normalizes_to_utf8(raw: bytes, encoding: str) -> None:
    parsed = parse(raw)
    assert parsed.source_encoding == encoding
    assert parsed.columns == ["地点", "気温"]
    assert parsed.row_count == 2
    assert parsed.data == JAPANESE.encode("utf-8")


def test_cp932_specific_characters_survive() -> None:
    text = "名前,備考\n髙橋,①番\n"
    assert parse(text.encode("cp932")).data.decode("utf-8") == text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"a,b\n", "no data rows"),
        (b"a,b\n1,2\n3\n", "row 3 has 1 fields"),
        (b"1,2\n3,4\n", "looks like data"),
        (b"a,,c\n1,2,3\n", "empty column name"),
        (b"a,a\n1,2\n", "repeats a column name"),
        (b"\x00\x01\x02\xff\xfe", "neither UTF-8 nor CP932"),
        (b"a,b\n\x81\x7f,1\n", "neither UTF-8 nor CP932"),
        (b'a,b\n"1,2\n', "not valid CSV"),
    ],
)
def test_rejects_bad_uploads_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(UploadRejected, match=reason):
        parse(raw)


def test_rejects_files_over_the_size_limit() -> None:
    raw = b"a,b\n" + b"1,2\n" * 5000
    with pytest.raises(UploadRejected, match="over the 10,000-byte limit"):
        parse(raw)
