"""The explanation before consent: both languages, self-declared marks, the foreign regime."""

from market.personal.explanation import explain
from market.personal.recipients import RecipientView

INSURER = RecipientView(
    id="r1",
    name="Acme Insurance",
    declared_category="insurance",
    declared_country="US",
    verified=False,
    security_profile={"certifications": ["ISMS"], "retention_days": 365, "internal": "x"},
)


def test_both_languages_name_recipient_purpose_items_term_and_benefit() -> None:
    explanation = explain(
        recipient=INSURER,
        purpose="research.medical",
        categories=["health_checkup"],
        price_per_record_yen=300,
        term_days=90,
        channel="direct",
    )
    ja, en = explanation["ja"], explanation["en"]
    assert ja["items"] == ["健康診断結果"] and en["items"] == ["health checkup results"]
    assert ja["sensitive_items"] == ["健康診断結果"]
    assert ja["term"] == "90日間" and en["term"] == "90 days"
    assert en["benefit"]["price_per_record_yen"] == 300
    assert "医療・創薬研究" in ja["text"] and "自己申告" in ja["text"]
    assert "self-declared" in en["text"]


def test_a_foreign_recipient_is_explained_with_its_country_regime_and_measures() -> None:
    en = explain(
        recipient=INSURER,
        purpose="research.medical",
        categories=["health_checkup"],
        price_per_record_yen=1,
        term_days=None,
        channel="pool",
    )["en"]
    assert en["abroad"]["country"] == "US"
    assert "federal" in en["abroad"]["regime"]
    assert en["abroad"]["recipient_measures"] == {"certifications": ["ISMS"], "retention_days": 365}
    assert en["security_profile"]["status"] == "self_declared"
