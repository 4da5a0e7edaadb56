"""Fixtures: every behaviour test runs on each build (interpreted, compiled) and each book."""

import importlib
from types import ModuleType
from typing import Any

import pytest

INSTRUMENT = "healthcare.checkup/anonymized"
PURPOSE = "research.medical"


def load_build(package: str) -> tuple[ModuleType, ModuleType] | None:
    """The exports and reference modules of a build, or None when it is not built."""
    try:
        return importlib.import_module(f"{package}.exports"), importlib.import_module(
            f"{package}.reference"
        )
    except ImportError:
        return None


BUILDS = {"interpreted": "matching", "compiled": "matching._native"}


def _stale_compiled_build() -> bool:
    """Whether a compiled build exists but was made from other sources than these."""
    from matching._build import source_digest

    try:
        stamp = importlib.import_module("matching._native.build_stamp")
    except ImportError:
        return False
    return bool(source_digest() != stamp.SOURCE_DIGEST)


@pytest.fixture(scope="session", autouse=True)
def _refuse_stale_compiled_build() -> None:
    """Fail (never silently pass) when the compiled build lags behind the sources."""
    if _stale_compiled_build():
        pytest.fail("the compiled build is stale: run python -m matching._build")


NOT_BUILT = pytest.mark.skipif(
    load_build("matching._native") is None,
    reason="compiled build missing: python -m matching._build",
)
BUILD_PARAMS = [
    pytest.param("interpreted", id="interpreted"),
    pytest.param("compiled", id="compiled", marks=NOT_BUILT),
]


class Venue:
    """An engine plus small factories; validates internal state after every command."""

    def __init__(self, api: ModuleType, book_factory: Any = None) -> None:
        self.api = api
        self.engine = api.Engine(book_factory)
        self.log: list[Any] = []

    def do(self, *commands: Any) -> list[Any]:
        """Apply commands, check every book, return the events."""
        events: list[Any] = []
        for command in commands:
            events.extend(self.engine.apply(command))
            self.engine.validate_internal_state()
        self.log.extend(events)
        return events

    def bid(
        self, order_id: str, price: int, qty: int = 1, who: str | None = None, **kw: Any
    ) -> list[Any]:
        """Place a bid (constraint keywords make it a constrained bid)."""
        return self.do(self.limit(order_id, "buy", price, qty, who, **kw))

    def ask(
        self, order_id: str, price: int, qty: int | None = 1, who: str | None = None, **kw: Any
    ) -> list[Any]:
        """Place an ask (term keywords make it a licence offer with terms)."""
        return self.do(self.limit(order_id, "sell", price, qty, who, **kw))

    def limit(
        self,
        order_id: str,
        side: str,
        price: int,
        qty: int | None,
        who: str | None = None,
        tif: str = "GTC",
        expires_at: int | None = None,
        instrument: str = INSTRUMENT,
        **kw: Any,
    ) -> Any:
        """Build a limit command."""
        api = self.api
        is_buy = side == "buy"
        constraints = self.constraints(**kw) if is_buy and kw else None
        terms = self.terms(order_id, **kw) if not is_buy and kw else None
        return api.Limit(
            order_id,
            instrument,
            who or f"{side}er-{order_id}",
            api.Side(side),
            price,
            qty,
            api.TimeInForce(tif),
            expires_at,
            constraints,
            terms,
        )

    def constraints(self, **kw: Any) -> Any:
        """Bid constraints with a default purpose."""
        kw.setdefault("purpose", PURPOSE)
        return self.api.BidConstraints(**{k: _sets(v) for k, v in kw.items()})

    def terms(self, order_id: str = "x", **kw: Any) -> Any:
        """Ask terms with a default dataset, class and purpose."""
        kw.setdefault("dataset_id", f"ds-{order_id}")
        kw.setdefault("data_class", "anonymized")
        kw.setdefault("allowed_purposes", {PURPOSE})
        return self.api.AskTerms(**{k: _sets(v) for k, v in kw.items()})

    def trades(self, events: list[Any]) -> list[tuple[str, str, int, int]]:
        """(buy id, sell id, price, qty) of each trade among the events."""
        return [
            (e.buy_id, e.sell_id, e.price, e.qty)
            for e in events
            if isinstance(e, self.api.TradeExecuted)
        ]

    def kinds(self, events: list[Any]) -> list[str]:
        """Event type names as in the JSON format."""
        return [self.api.event_to_dict(e)["type"] for e in events]

    def resting(self, instrument: str = INSTRUMENT) -> dict[str, int | None]:
        """Remaining size of every live order."""
        book = self.engine.books.get(instrument)
        if book is None:
            return {}
        return {o.id: (None if o.unlimited else o.qty) for o in book.live_orders()}


def _sets(value: Any) -> Any:
    """Sets in factories become frozensets."""
    return frozenset(value) if isinstance(value, set | list) else value


@pytest.fixture(params=BUILD_PARAMS)
def api(request: pytest.FixtureRequest) -> ModuleType:
    """The exports module of one build."""
    loaded = load_build(BUILDS[request.param])
    assert loaded is not None
    return loaded[0]


@pytest.fixture(
    params=[
        pytest.param(("interpreted", "fast"), id="interpreted-fast"),
        pytest.param(("compiled", "fast"), id="compiled-fast", marks=NOT_BUILT),
        pytest.param(("interpreted", "reference"), id="interpreted-reference"),
        pytest.param(("compiled", "reference"), id="compiled-reference", marks=NOT_BUILT),
    ]
)
def venue(request: pytest.FixtureRequest) -> Venue:
    """A fresh engine of one build and one book implementation."""
    build, book = request.param
    loaded = load_build(BUILDS[build])
    assert loaded is not None
    exports, reference = loaded
    return Venue(exports, reference.ReferenceBook if book == "reference" else None)
