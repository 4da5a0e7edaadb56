"""Qualified-invoice registration numbers (適格請求書発行事業者登録番号) and corporate numbers.

A registration number is `T` and 13 digits. For a corporation the digits are its corporate
number (法人番号), whose first digit is a check digit over the other twelve: with P(n) the n-th
of the twelve digits counted from the right and Q(n) = 1 for odd n, 2 for even n,
check = 9 - (sum of P(n) x Q(n) mod 9). Source: 法人番号の指定等に関する省令 第2条 (the
National Tax Agency's published formula); e.g. the NTA itself is 7000012050002.
"""

import re

REGISTRATION_NUMBER = re.compile(r"^T[0-9]{13}$")


def corporate_check_digit(base12: str) -> int:
    """The check digit of a corporate number whose other twelve digits are `base12`."""
    if not re.fullmatch(r"[0-9]{12}", base12):
        raise ValueError("a corporate number's base is twelve digits")
    total = 0
    for n, digit in enumerate(reversed(base12), start=1):
        total += int(digit) * (1 if n % 2 else 2)
    return 9 - total % 9


def is_corporate_number(number: str) -> bool:
    """Whether a 13-digit string is a corporate number with a correct check digit."""
    return bool(re.fullmatch(r"[0-9]{13}", number)) and int(number[0]) == corporate_check_digit(
        number[1:]
    )


def registration_number_problem(number: str, *, corporation: bool) -> str | None:
    """Why `number` is not a valid registration number, or None when it is.

    Only a corporation's number carries the corporate check digit; a sole proprietor's
    thirteen digits are assigned separately and are checked for their form only.
    """
    if not REGISTRATION_NUMBER.match(number):
        return "a registration number is T followed by 13 digits, e.g. T7000012050002"
    if corporation and not is_corporate_number(number[1:]):
        return (
            "the 13 digits of a corporation's registration number are its corporate number "
            "(法人番号), and its check digit (the first digit) does not match: check the number"
        )
    return None
