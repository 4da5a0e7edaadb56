"""Per-purpose recipients on an ask: a pooled ask serves, for each purpose, only the recipients
named for it (an information bank's pool: those whose cohort reaches the minimum)."""

from types import ModuleType

from tests.unit.matching.conftest import INSTRUMENT, PURPOSE, Venue

OTHER = "marketing.analytics"
POOL = frozenset({(PURPOSE, "insurer"), (OTHER, "retailer"), (OTHER, "category:research")})


def pooled(venue: Venue, pairs: frozenset[tuple[str, str]] | None = POOL) -> None:
    venue.ask(
        "pool", 300, None, who="bank", data_class="personal",
        allowed_purposes={PURPOSE, OTHER}, purpose_recipients=pairs,
    )  # fmt: skip


def test_a_bid_matches_only_for_a_purpose_that_names_its_buyer(venue: Venue) -> None:
    pooled(venue)
    assert venue.trades(venue.bid("b1", 300, who="insurer", purpose=OTHER)) == []
    assert venue.trades(venue.bid("b2", 300, who="retailer", purpose=PURPOSE)) == []
    assert venue.trades(venue.bid("b3", 300, who="insurer", purpose=PURPOSE)) == [
        ("b3", "pool", 300, 1)
    ]


def test_a_named_category_serves_buyers_holding_it(venue: Venue) -> None:
    pooled(venue)
    claims = {"category:research"}
    assert venue.trades(venue.bid("b1", 300, who="lab", purpose=PURPOSE, recipient_categories=claims)) == []  # fmt: skip
    assert len(venue.trades(venue.bid("b2", 300, who="lab", purpose=OTHER, recipient_categories=claims))) == 1  # fmt: skip


def test_an_empty_map_serves_nobody_and_an_update_opens_it(venue: Venue) -> None:
    api = venue.api
    pooled(venue, frozenset())
    assert venue.trades(venue.bid("b1", 300, who="insurer", purpose=PURPOSE)) == []
    terms = venue.terms(
        "pool", data_class="personal", allowed_purposes={PURPOSE, OTHER},
        purpose_recipients=frozenset({(PURPOSE, "insurer")}),
    )  # fmt: skip
    events = venue.do(api.Update("pool", INSTRUMENT, api.Side.SELL, None, terms, "bank"))
    assert venue.trades(events) == [("b1", "pool", 300, 1)]


def test_the_map_round_trips_through_the_journal_and_snapshots(api: ModuleType) -> None:
    venue = Venue(api)
    pooled(venue)
    [command] = [
        api.Limit(
            "pool", INSTRUMENT, "bank", api.Side.SELL, 300, None,
            terms=venue.terms("pool", data_class="personal", purpose_recipients=POOL),
        )
    ]  # fmt: skip
    data = api.command_to_dict(command)
    assert data["purpose_recipients"] == {
        OTHER: ["category:research", "retailer"],
        PURPOSE: ["insurer"],
    }
    assert api.command_from_dict(data) == command
    restored = api.Engine()
    restored.load_snapshot(venue.engine.snapshot())
    assert restored.state_hash() == venue.engine.state_hash()


def test_asks_without_the_map_journal_and_hash_as_before(api: ModuleType) -> None:
    venue = Venue(api)
    plain = api.Limit(
        "a1", INSTRUMENT, "s", api.Side.SELL, 100, 1, terms=venue.terms("a1"),
    )  # fmt: skip
    assert "purpose_recipients" not in api.command_to_dict(plain)
    before = Venue(api)
    before.do(plain)
    with_none = Venue(api)
    with_none.do(api.command_from_dict(api.command_to_dict(plain)))
    assert before.engine.state_hash() == with_none.engine.state_hash()
