"""A seeded journal that leaves a large book: limit orders (40% with terms or constraints),
cancels, amends, reductions, clock ticks, marketable orders and a periodic thin instrument."""

import random
from typing import Any

import matching

MAIN = "bench.main/anonymized"
THIN = "bench.thin/non_personal"
MID = 100_000
PURPOSES = ["research.medical", "research.statistics", "marketing.analytics", "product.development"]
CLASSES = ["personal", "anonymized", "non_personal"]


def resting_stream(seed: int, commands: int, resting: int) -> list[Any]:
    """`commands` engine commands whose book holds about `resting` live orders at the end."""
    rng = random.Random(seed)
    out: list[Any] = [matching.SetMode(THIN, matching.Mode.PERIODIC, 60_000)]
    live: list[str] = []
    now = 1_795_000_000_000
    # A quarter of the commands cancel a live order; placing that many plus the target share
    # (and a little for fills and expiries) ends near `resting`.
    place_share = min(0.6, 0.27 + resting / max(commands, 1))
    number = 0
    while len(out) < commands:
        number += 1
        roll = rng.random() - place_share
        if roll < 0:
            out.append(_resting_order(rng, number, now))
            live.append(f"o{number}")
        elif roll < 0.25 and live:
            index = rng.randrange(len(live))
            live[index], live[-1] = live[-1], live[index]
            out.append(matching.Cancel(live.pop(), MAIN))
        elif roll < 0.30 and live:
            out.append(matching.Reduce(rng.choice(live[-500:]), MAIN, 1))
        elif roll < 0.33 and live:
            out.append(matching.Amend(rng.choice(live[-500:]), MAIN, None, rng.randrange(1, 20)))
        elif roll < 0.36:
            out.append(_thin_order(rng, number, now))
        elif roll < 0.39:
            side = rng.choice([matching.Side.BUY, matching.Side.SELL])
            out.append(matching.Market(f"m{number}", MAIN, f"p{rng.randrange(500)}", side, 3))
        else:
            now += rng.randrange(1, 2_000)
            out.append(matching.Clock(now))
    return out[:commands]


def _resting_order(rng: random.Random, number: int, now: int) -> Any:
    """A limit order priced away from the other side, so it rests (GTC, some GTD)."""
    is_buy = rng.random() < 0.5
    price = MID - rng.randrange(1, 5_000) if is_buy else MID + rng.randrange(1, 5_000)
    tif = matching.TimeInForce.GTD if rng.random() < 0.05 else matching.TimeInForce.GTC
    expires_at = (
        now + rng.randrange(3_600_000, 86_400_000) if tif is matching.TimeInForce.GTD else None
    )
    constraints = terms = None
    if rng.random() < 0.4:
        if is_buy:
            constraints = matching.BidConstraints(
                purpose=rng.choice(PURPOSES),
                data_classes=frozenset(rng.sample(CLASSES, rng.randrange(1, 4))),
                min_quality=rng.randrange(0, 60),
                required_tags=frozenset(
                    rng.sample(["health", "age", "region"], rng.randrange(0, 2))
                ),
            )
        else:
            terms = matching.AskTerms(
                dataset_id=f"ds{rng.randrange(20_000)}",
                data_class=rng.choice(CLASSES),
                quality=rng.randrange(0, 101),
                tags=frozenset(
                    rng.sample(["health", "age", "region", "device"], rng.randrange(0, 4))
                ),
                allowed_purposes=frozenset(rng.sample(PURPOSES, rng.randrange(1, 4))),
            )
    side = matching.Side.BUY if is_buy else matching.Side.SELL
    return matching.Limit(
        f"o{number}",
        MAIN,
        f"p{rng.randrange(500)}",
        side,
        price,
        rng.randrange(1, 30),
        tif,
        expires_at,
        constraints,
        terms,
    )


def _thin_order(rng: random.Random, number: int, now: int) -> Any:
    """An order for the periodic instrument's next auction, good for the day."""
    side = rng.choice([matching.Side.BUY, matching.Side.SELL])
    return matching.Limit(
        f"t{number}",
        THIN,
        f"p{rng.randrange(500)}",
        side,
        1_000 + rng.randrange(-50, 51),
        rng.randrange(1, 5),
        matching.TimeInForce.GTD,
        now + 3_600_000,
    )
