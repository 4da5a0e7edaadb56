"""Search terms of one or two characters on SQLite: each entry's grams as FTS5 tokens.

FTS5's trigram tokenizer indexes nothing shorter than three characters, and Python's sqlite3
cannot register an FTS5 tokenizer, so the text is encoded instead: every distinct substring of
one or two characters without whitespace (a "gram", as PostgreSQL's `catalog_grams` has them,
migration 0015) becomes one ASCII token, `g` and the hexadecimal code points joined by `x`
(`東京` -> `g6771x4eac`, `ai` -> `g61x69`). An entry holds a term of one or two characters
exactly when its token is among the entry's: a term never contains whitespace (terms are split
on it), so a gram across two fields, which are joined by a line break, is never asked for.

The tokens go into a contentless FTS5 table without positions (`catalog_grams`, migration
0018), kept by triggers that call `gram_tokens` as the SQL function `catalog_gram_tokens`,
which every SQLite connection the market opens registers (market/catalog/tables.py).
"""

from itertools import pairwise

SQL_FUNCTION = "catalog_gram_tokens"


def gram_token(gram: str) -> str:
    """The index token of a one- or two-character string."""
    return "g" + "x".join(format(ord(char), "x") for char in gram)


def gram_tokens(text: str | None) -> str | None:
    """The distinct grams of `text` as index tokens, separated by spaces, in first-seen order."""
    if text is None:
        return None
    codes = [None if char.isspace() else format(ord(char), "x") for char in text]
    grams = dict.fromkeys(f"g{code}" for code in codes if code is not None)
    grams.update(
        dict.fromkeys(
            f"g{first}x{second}"
            for first, second in pairwise(codes)
            if first is not None and second is not None
        )
    )
    return " ".join(grams)


def match_expression(terms: list[str]) -> str:
    """An FTS5 query of the gram index for entries holding every one of these short terms."""
    return " AND ".join(f'"{gram_token(term)}"' for term in terms)
