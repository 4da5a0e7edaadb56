"""Decoding the text of Japanese tables: UTF-8 (with or without BOM), else CP932 (Shift_JIS).

The one reader of encodings for the anonymizer, its command line and the market's uploads.
"""

UTF8_BOM = b"\xef\xbb\xbf"


def decode_japanese_text(raw: bytes) -> tuple[str, str]:
    """Return (text, encoding name); raise UnicodeDecodeError when neither encoding fits."""
    if raw.startswith(UTF8_BOM):
        return raw.decode("utf-8-sig"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp932"), "cp932"
