"""A seller's credibility from its record: ratings by paying buyers, weighted by what each paid.

Pure: the record goes in, a `Credibility` (0-100 and what it rests on) comes out. Each rating
counts in proportion to the yen its rater paid for the rated licence, and a neutral prior of
PRIOR_YEN at 50 damps small records, so ratings bought for a yen (or given by free
registrations, which cannot rate at all) barely move the figure (docs/quality.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from market.quality import Credibility

#: The weight, in yen paid, of the neutral (50) prior every record starts from.
PRIOR_YEN = 10_000
NEUTRAL = 50.0


@dataclass(frozen=True)
class RatedDelivery:
    """One rating: its stars (1-5) and the yen its rater paid for the licence."""

    stars: int
    paid_yen: int


def star_score(stars: int) -> float:
    """1 star is 0, 5 stars 100."""
    return 100 * (stars - 1) / 4


def credibility_of(ratings: Sequence[RatedDelivery], *, deliveries: int) -> Credibility | None:
    """The seller's credibility, or None while no paying buyer has rated a delivery.

    credibility = (PRIOR_YEN × 50 + Σ paid_i × score_i) / (PRIOR_YEN + Σ paid_i),
    score_i = 100 × (stars_i − 1) / 4. `deliveries` (licences sold) is shown with it.
    """
    weighed = [r for r in ratings if r.paid_yen > 0]
    if not weighed:
        return None
    paid = sum(r.paid_yen for r in weighed)
    total = PRIOR_YEN * NEUTRAL + sum(r.paid_yen * star_score(r.stars) for r in weighed)
    score = total / (PRIOR_YEN + paid)
    mean = sum(r.paid_yen * r.stars for r in weighed) / paid
    return Credibility(
        score=score,
        basis=(
            f"{len(weighed)} rating(s) by paying buyers of {deliveries} licence(s) delivered, "
            f"{mean:.2f} stars on average weighted by ¥{paid:,} paid; a neutral prior of "
            f"¥{PRIOR_YEN:,} at 50 damps small records"
        ),
    )
