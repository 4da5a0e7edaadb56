"""Check digits of Japanese identification numbers, and value normalization (全角 -> 半角).

My Number (個人番号): 12 digits, the last a check digit (Ordinance on My Number art. 5).
Corporate number (法人番号): 13 digits, the first a check digit; it identifies a company,
not a person, so it is not personal data.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-‐－ー−]")


def normalize(value: str) -> str:
    """NFKC: full-width digits and letters become ASCII, half-width kana become full-width."""
    return unicodedata.normalize("NFKC", value).strip()


def digits_only(value: str) -> str:
    """Normalized value with spaces and hyphens removed."""
    return _SEPARATORS.sub("", normalize(value))


def my_number_check_digit(first_eleven: str) -> int:
    """Check digit of a My Number from its first 11 digits."""
    total = 0
    for n, digit in enumerate(reversed(first_eleven), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(digit) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_my_number(value: str) -> bool:
    """Whether a value is a 12-digit My Number with a valid check digit."""
    text = digits_only(value)
    if len(text) != 12 or not text.isdigit():
        return False
    return my_number_check_digit(text[:11]) == int(text[11])


def corporate_number_check_digit(base_twelve: str) -> int:
    """Check digit (leading) of a corporate number from its other 12 digits."""
    total = 0
    for n, digit in enumerate(reversed(base_twelve), start=1):
        total += int(digit) * (1 if n % 2 else 2)
    return 9 - total % 9


def is_corporate_number(value: str) -> bool:
    """Whether a value is a 13-digit corporate number with a valid check digit."""
    text = digits_only(value)
    if len(text) != 13 or not text.isdigit():
        return False
    return corporate_number_check_digit(text[1:]) == int(text[0])
