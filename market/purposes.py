"""The fixed purpose-of-use taxonomy (利用目的) shared by asks, bids, consents and the API.

Documented in docs/purposes.md; a code is never renamed or reused.
"""

PURPOSES: dict[str, str] = {
    "research.academic": "学術研究 / academic research",
    "research.medical": "医療・創薬研究 / medical and drug-discovery research",
    "research.statistics": "統計作成 / aggregate statistics",
    "product.development": "商品・サービス開発 / product and service development",
    "product.quality": "品質改善 / quality improvement",
    "marketing.analytics": "市場分析 / market analysis",
    "marketing.advertising": "広告配信 / advertising",
    "public.policy": "行政・政策立案 / public policy",
    "public.disaster": "防災・減災 / disaster prevention",
    "mobility.transport": "交通・移動 / mobility and transport",
    "finance.credit": "与信・保険 / credit and insurance",
    "health.care": "ヘルスケアサービス / health care services",
    "ai.training": "AI学習 / machine-learning training",
    "tourism.promotion": "観光振興 / tourism promotion",
}
PURPOSE_GROUPS: frozenset[str] = frozenset(code.split(".")[0] for code in PURPOSES)


class UnknownPurpose(ValueError):
    """A purpose code that is not in the taxonomy."""


def expand_purposes(codes: list[str]) -> frozenset[str]:
    """Expand group codes to their leaves; reject codes outside the taxonomy."""
    leaves: set[str] = set()
    for code in codes:
        if code in PURPOSES:
            leaves.add(code)
        elif code in PURPOSE_GROUPS:
            leaves.update(leaf for leaf in PURPOSES if leaf.startswith(code + "."))
        else:
            raise UnknownPurpose(
                f"unknown purpose {code!r}: use a code from docs/purposes.md (GET /purposes)"
            )
    return frozenset(leaves)


def require_leaf_purpose(code: str) -> str:
    """Return the code if it names one leaf purpose, as a bid must."""
    if code not in PURPOSES:
        raise UnknownPurpose(
            f"unknown purpose {code!r}: a bid names one leaf purpose from docs/purposes.md"
        )
    return code
