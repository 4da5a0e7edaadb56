"""Seeded command streams for the benchmark and the replay tests."""

import random
from types import ModuleType
from typing import Any

MID = 10_000
PURPOSES = (
    "research.medical",
    "research.statistics",
    "marketing.analytics",
    "ai.training",
    "public.policy",
)
CLASSES = ("personal", "anonymized", "non_personal")


class StreamStats:
    """What a stream holds, for reporting."""

    def __init__(self) -> None:
        self.limits = 0
        self.cancels = 0
        self.marketable = 0


def benchmark_stream(
    api: ModuleType, seed: int, messages: int, constrained: bool, resting: int = 1000
) -> tuple[list[Any], StreamStats]:
    """1,000 resting orders, then messages: 70% limit, 25% cancel, 5% marketable limit.

    With `constrained`, 30% of bids carry constraints and 30% of asks carry terms.
    """
    rng = random.Random(seed)
    stats = StreamStats()
    commands: list[Any] = []
    ids: list[str] = []
    instrument = "bench"
    for number in range(resting + messages):
        roll = rng.random() if number >= resting else 0.0
        if roll < 0.70 or roll >= 0.95:
            is_buy = rng.random() < 0.5
            marketable = roll >= 0.95
            offset = -55 if marketable else rng.randrange(1, 51)
            price = MID - offset if is_buy else MID + offset
            order_id = f"o{number}"
            ids.append(order_id)
            constraints = terms = None
            if constrained and rng.random() < 0.3:
                if is_buy:
                    constraints = _constraints(api, rng)
                else:
                    terms = _terms(api, rng)
            side = api.Side.BUY if is_buy else api.Side.SELL
            participant = f"p{rng.randrange(100)}"
            qty = rng.randrange(1, 101)
            commands.append(
                api.Limit(
                    order_id,
                    instrument,
                    participant,
                    side,
                    price,
                    qty,
                    constraints=constraints,
                    terms=terms,
                )
            )
            if number >= resting:
                if marketable:
                    stats.marketable += 1
                else:
                    stats.limits += 1
        else:
            # Cancel a recent order: most are still live, some already traded or cancelled.
            order_id = ids[-1 - min(int(rng.expovariate(1 / 300)), len(ids) - 1)]
            commands.append(api.Cancel(order_id, instrument))
            stats.cancels += 1
    return commands, stats


def _constraints(api: ModuleType, rng: random.Random) -> Any:
    """Random bid constraints."""
    classes = frozenset(rng.sample(CLASSES, rng.randrange(1, 3)))
    return api.BidConstraints(
        purpose=rng.choice(PURPOSES), data_classes=classes, min_quality=rng.randrange(0, 61)
    )


def _terms(api: ModuleType, rng: random.Random) -> Any:
    """Random ask terms."""
    data_class = rng.choice(CLASSES)
    return api.AskTerms(
        dataset_id=f"d{rng.randrange(200)}",
        data_class=data_class,
        quality=rng.randrange(0, 101),
        k=rng.randrange(2, 20) if data_class == "anonymized" else None,
        allowed_purposes=frozenset(rng.sample(PURPOSES, rng.randrange(1, 4))),
    )


def mixed_stream(api: ModuleType, seed: int, messages: int) -> list[Any]:
    """Every command kind, on a continuous instrument and a small periodic one."""
    rng = random.Random(seed)
    commands: list[Any] = []
    ids: list[tuple[str, str, bool]] = []
    now = 0
    commands.append(api.SetMode("thin", api.Mode.PERIODIC, 60_000))
    for number in range(messages):
        roll = rng.random()
        instrument = "thin" if rng.random() < 0.02 else "main"
        if roll < 0.55:
            commands.append(_order(api, rng, number, instrument, now, ids))
        elif roll < 0.75 and ids:
            order_id, where, _ = ids[-1 - min(int(rng.expovariate(1 / 200)), len(ids) - 1)]
            commands.append(api.Cancel(order_id, where))
        elif roll < 0.82 and ids:
            order_id, where, _ = rng.choice(ids[-300:])
            price = MID + rng.randrange(-40, 41) if rng.random() < 0.6 else None
            commands.append(api.Amend(order_id, where, price, rng.randrange(1, 30)))
        elif roll < 0.87 and ids:
            order_id, where, _ = rng.choice(ids[-300:])
            commands.append(api.Reduce(order_id, where, rng.randrange(1, 10)))
        elif roll < 0.92 and ids:
            order_id, where, is_buy = rng.choice(ids[-300:])
            if is_buy:
                update = api.Update(
                    order_id, where, api.Side.BUY, constraints=_constraints(api, rng)
                )
            else:
                update = api.Update(order_id, where, api.Side.SELL, terms=_terms(api, rng))
            commands.append(update)
        elif roll < 0.97:
            now += rng.randrange(1, 5_000)
            commands.append(api.Clock(now))
        elif roll < 0.972:
            commands.append(api.RunAuction("thin", rng.choice([None, MID])))
        elif roll < 0.974:
            mode = api.Mode.CONTINUOUS if rng.random() < 0.5 else api.Mode.PERIODIC
            commands.append(
                api.SetMode("thin", mode, 60_000 if mode is api.Mode.PERIODIC else None)
            )
        else:
            commands.append(
                api.Market(
                    f"m{number}",
                    instrument,
                    f"p{rng.randrange(30)}",
                    rng.choice([api.Side.BUY, api.Side.SELL]),
                    rng.randrange(1, 20),
                )
            )
    return commands


def _order(
    api: ModuleType,
    rng: random.Random,
    number: int,
    instrument: str,
    now: int,
    ids: list[tuple[str, str, bool]],
) -> Any:
    """A random limit order of any time in force, plain or constrained."""
    is_buy = rng.random() < 0.5
    price = MID + rng.randrange(-30, 31)
    order_id = f"o{number}"
    ids.append((order_id, instrument, is_buy))
    constrained = rng.random() < 0.4
    constraints = _constraints(api, rng) if constrained and is_buy else None
    terms = _terms(api, rng) if constrained and not is_buy else None
    qty: int | None = rng.randrange(1, 30)
    if not is_buy and rng.random() < 0.05:
        qty = None
    tif = rng.choices(list(api.TimeInForce), weights=[70, 15, 10, 5])[0]
    if tif is api.TimeInForce.GTC and instrument == "thin":
        # Orders for a thin market's auctions are good for the day, not forever: the thin
        # book stays the size of a thin market however long the stream runs.
        tif = api.TimeInForce.GTD
    expires_at = now + rng.randrange(1, 100_000) if tif is api.TimeInForce.GTD else None
    if tif is api.TimeInForce.FOK and qty is None:
        qty = 5
    side = api.Side.BUY if is_buy else api.Side.SELL
    return api.Limit(
        order_id,
        instrument,
        f"p{rng.randrange(30)}",
        side,
        price,
        qty,
        tif,
        expires_at,
        constraints,
        terms,
    )
