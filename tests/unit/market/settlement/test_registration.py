"""Registration numbers and the corporate-number check digit, worked by hand.

The corporate number's first digit is 9 - (sum of P(n) x Q(n) mod 9) over the other twelve,
P(n) the n-th digit from the right, Q(n) 1 for odd n and 2 for even n.
"""

from market.settlement.registration import (
    corporate_check_digit,
    is_corporate_number,
    registration_number_problem,
)


def test_the_national_tax_agency_number_checks() -> None:
    # 国税庁 7000012050002: digits from the right 2,0,0,0,5,0,2,1,0,0,0,0 ->
    # 2x1 + 5x1 (n=5) + 2x1 (n=7) + 1x2 (n=8) = 11; 11 mod 9 = 2; 9 - 2 = 7.
    assert corporate_check_digit("000012050002") == 7
    assert is_corporate_number("7000012050002")


def test_other_public_bodies_and_a_company_check() -> None:
    # 総務省 2000012020001: 1x1 + 2x1 (n=5) + 2x1 (n=7) + 1x2 (n=8) = 7; 9 - 7 = 2.
    assert is_corporate_number("2000012020001")
    # トヨタ自動車 1180301018771: the weighted sum is 53; 53 mod 9 = 8; 9 - 8 = 1.
    assert is_corporate_number("1180301018771")


def test_a_remainder_of_zero_gives_check_digit_nine() -> None:
    # 000000000009: 9 x 1 = 9; 9 mod 9 = 0; 9 - 0 = 9.
    assert corporate_check_digit("000000000009") == 9


def test_a_wrong_check_digit_or_form_is_refused() -> None:
    assert not is_corporate_number("8000012050002")
    assert registration_number_problem("T7000012050002", corporation=True) is None
    assert "check digit" in (registration_number_problem("T8000012050002", corporation=True) or "")
    assert "T followed by 13 digits" in (
        registration_number_problem("7000012050002", corporation=True) or ""
    )
    assert registration_number_problem("T700001205000", corporation=False) is not None


def test_a_sole_proprietors_number_is_checked_for_form_only() -> None:
    assert registration_number_problem("T8000012050002", corporation=False) is None
