"""The explanation shown before consent (APPI arts. 27-28, Enforcement Rules art. 17), ja and en.

Pure: built from the recipient's view and the request; stored with the request so the person
sees what was true when it was asked.
"""

from typing import Any

from market.personal.categories import CATEGORIES
from market.personal.recipients import RecipientView
from market.purposes import PURPOSES

HOME_COUNTRY = "JP"
# Countries the PPC designated under APPI art. 28(1) as having an equivalent regime (EU/EEA and UK).
EQUIVALENT_REGIMES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
        "GB",
    ]
)
REGIMES: dict[str, tuple[str, str]] = {
    "JP": (
        "個人情報の保護に関する法律（APPI）",
        "Act on the Protection of Personal Information (APPI)",
    ),
    "GB": (
        "UK GDPR・Data Protection Act 2018（個人情報保護委員会が同等と認定）",
        "UK GDPR and Data Protection Act 2018 (designated equivalent by the PPC)",
    ),
    "US": (
        "連邦の包括的な個人情報保護法はなく、州法（CCPA等）と分野別法による",
        "no comprehensive federal law; state laws (e.g. CCPA) and sector laws apply",
    ),
}
EU_REGIME = (
    "EU一般データ保護規則（GDPR、個人情報保護委員会が同等と認定）",
    "EU General Data Protection Regulation (designated equivalent by the PPC)",
)
UNKNOWN_REGIME = (
    "当市場では当該国の制度情報を確認できていません。提供先に照会してください",
    "the market holds no information on this country's regime; ask the recipient",
)
SECURITY_KEYS = ("certifications", "encryption_at_rest", "retention_days", "country")


def regime_of(country: str) -> tuple[str, str]:
    if country in REGIMES:
        return REGIMES[country]
    if country in EQUIVALENT_REGIMES:
        return EU_REGIME
    return UNKNOWN_REGIME


def explain(
    *,
    recipient: RecipientView,
    purpose: str,
    categories: list[str],
    price_per_record_yen: int,
    term_days: int | None,
    channel: str,
    anonymized: bool = False,
) -> dict[str, Any]:
    """The explanation in both languages: recipient, purpose, items, term, benefit, security."""
    label_ja, _, label_en = PURPOSES[purpose].partition(" / ")
    status = "verified" if recipient.verified else "self_declared"
    security = {
        k: recipient.security_profile[k] for k in SECURITY_KEYS if k in recipient.security_profile
    }
    country = recipient.declared_country
    abroad = country != HOME_COUNTRY
    regime_ja, regime_en = regime_of(country)
    sensitive = [c for c in categories if CATEGORIES[c].sensitive]
    share = (
        "本人への直接の対価"
        if channel == "direct"
        else "情報銀行経由の対価（本人への還元は銀行の約款による）"
    )
    share_en = (
        "paid to you directly"
        if channel == "direct"
        else "paid to the bank; your share follows its terms"
    )
    term_ja = f"{term_days}日間" if term_days else "期限なし"
    term_en = f"{term_days} days" if term_days else "no end date"

    def body(lang: str) -> dict[str, Any]:
        ja = lang == "ja"
        items = [CATEGORIES[c].ja if ja else CATEGORIES[c].en for c in categories]
        result: dict[str, Any] = {
            "recipient": {
                "id": recipient.id,
                "name": recipient.name,
                "category": recipient.declared_category,
                "country": country,
                "verification": status,
            },
            "purpose": {"code": purpose, "label": label_ja if ja else label_en},
            "items": items,
            "sensitive_items": [CATEGORIES[c].ja if ja else CATEGORIES[c].en for c in sensitive],
            "anonymized": anonymized,
            "term": term_ja if ja else term_en,
            "benefit": {
                "price_per_record_yen": price_per_record_yen,
                "note": share if ja else share_en,
            },
            "security_profile": {**security, "status": status},
            "abroad": None,
        }
        if abroad:
            result["abroad"] = {
                "country": country,
                "regime": regime_ja if ja else regime_en,
                "recipient_measures": security,
            }
        result["text"] = _sentence(ja, recipient, country, result, status)
        return result

    return {"ja": body("ja"), "en": body("en")}


def _sentence(ja: bool, r: RecipientView, country: str, b: dict[str, Any], status: str) -> str:
    items = "、".join(b["items"]) if ja else ", ".join(b["items"])
    price = b["benefit"]["price_per_record_yen"]
    if ja:
        declared = "（自己申告・未確認）" if status == "self_declared" else "（運営者が確認済み）"
        text = (
            f"{r.name}{declared}（{r.declared_category or '区分未申告'}、{country}）が、"
            f"「{b['purpose']['label']}」の目的で、あなたの{items}の提供を求めています。"
            f"期間：{b['term']}。対価：1件あたり{price}円（{b['benefit']['note']}）。"
        )
        if b["sensitive_items"]:
            text += "要配慮個人情報を含みます。"
        if b["abroad"]:
            text += f"提供先は外国（{country}）にあります。同国の制度：{b['abroad']['regime']}。"
        return text
    declared = (
        " (self-declared, not verified)"
        if status == "self_declared"
        else " (verified by the operator)"
    )
    text = (
        f"{r.name}{declared} ({r.declared_category or 'no category declared'}, {country}) asks for "
        f"your {items} for the purpose '{b['purpose']['label']}'. Term: {b['term']}. "
        f"Benefit: {price} yen per record ({b['benefit']['note']})."
    )
    if b["sensitive_items"]:
        text += " Includes special-care-required personal information."
    if b["abroad"]:
        text += f" The recipient is abroad ({country}); its regime: {b['abroad']['regime']}."
    return text
