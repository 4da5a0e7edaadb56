"""Contract: constraints on bids and restrictions on asks decide who may trade."""

from tests.unit.matching.conftest import INSTRUMENT, Venue


def test_bid_skips_asks_below_min_quality(venue: Venue) -> None:
    venue.ask("poor", 100, quality=40)
    venue.ask("good", 105, quality=80)
    events = venue.bid("b1", 110, 1, min_quality=70)
    assert venue.trades(events) == [("b1", "good", 105, 1)]


def test_equal_price_asks_fill_higher_quality_first(venue: Venue) -> None:
    venue.ask("fair", 100, quality=60)
    venue.ask("best", 100, quality=90)
    events = venue.bid("b1", 100, 1, min_quality=0)
    assert venue.trades(events) == [("b1", "best", 100, 1)]


def test_bid_skips_asks_of_a_data_class_it_does_not_accept(venue: Venue) -> None:
    venue.ask("personal", 100, data_class="personal")
    venue.ask("iot", 101, data_class="non_personal")
    events = venue.bid("b1", 110, 1, data_classes={"non_personal", "anonymized"})
    assert venue.trades(events) == [("b1", "iot", 101, 1)]


def test_min_k_binds_anonymized_asks_only(venue: Venue) -> None:
    venue.ask("k3", 100, k=3)
    venue.ask("iot", 101, data_class="non_personal")
    venue.ask("k10", 102, k=10)
    events = venue.bid("b1", 110, 3, min_k=5)
    assert venue.trades(events) == [("b1", "iot", 101, 1), ("b1", "k10", 102, 1)]


def test_bid_needs_its_purpose_allowed_by_the_ask(venue: Venue) -> None:
    venue.ask("ads_only", 100, allowed_purposes={"marketing.advertising"})
    venue.ask("research", 101, allowed_purposes={"research.medical", "research.academic"})
    events = venue.bid("b1", 110, 2, purpose="research.medical")
    assert venue.trades(events) == [("b1", "research", 101, 1)]


def test_required_tags_and_columns_must_be_offered(venue: Venue) -> None:
    venue.ask("bare", 100, tags={"checkup"})
    venue.ask("rich", 101, tags={"checkup", "2025"}, columns={"bmi", "age"})
    events = venue.bid("b1", 110, 2, required_tags={"checkup"}, required_columns={"bmi"})
    assert venue.trades(events) == [("b1", "rich", 101, 1)]


def test_denied_recipient_category_blocks_the_trade(venue: Venue) -> None:
    venue.ask("no_insurers", 100, denied_recipients={"category:insurance"})
    events = venue.bid("b1", 110, 1, recipient_categories={"category:insurance"})
    assert venue.trades(events) == []
    events = venue.bid("b2", 110, 1, recipient_categories={"category:university"})
    assert venue.trades(events) == [("b2", "no_insurers", 100, 1)]


def test_allowed_recipients_limit_who_may_buy(venue: Venue) -> None:
    venue.ask("a1", 100, qty=2, allowed_recipients={"category:university", "hospital-7"})
    assert venue.trades(venue.bid("b1", 110, 1, who="shop", min_quality=0)) == []
    assert venue.trades(venue.bid("b2", 110, 1, who="hospital-7", min_quality=0)) == [
        ("b2", "a1", 100, 1)
    ]
    events = venue.bid("b3", 110, 1, who="uni", recipient_categories={"category:university"})
    assert venue.trades(events) == [("b3", "a1", 100, 1)]


def test_licence_term_and_exclusivity_must_fit(venue: Venue) -> None:
    venue.ask("short", 100, term_days=30)
    venue.ask("shared", 101, term_days=365)
    venue.ask("exclusive", 102, exclusive=True)
    assert venue.trades(venue.bid("b1", 110, 1, min_term_days=90)) == [("b1", "shared", 101, 1)]
    assert venue.trades(venue.bid("b2", 110, 1, exclusive=True)) == [("b2", "exclusive", 102, 1)]


def test_exclusive_licence_is_offered_one_at_a_time(venue: Venue) -> None:
    assert venue.kinds(venue.ask("a1", 100, qty=2, exclusive=True)) == ["rejected"]


def test_bid_for_n_licences_buys_n_distinct_datasets(venue: Venue) -> None:
    venue.ask("d1-cheap", 100, qty=5, dataset_id="d1")
    venue.ask("d1-again", 101, qty=5, dataset_id="d1")
    venue.ask("d2", 102, qty=5, dataset_id="d2")
    events = venue.bid("b1", 110, 3, min_quality=0)
    assert venue.trades(events) == [("b1", "d1-cheap", 100, 1), ("b1", "d2", 102, 1)]
    assert venue.resting()["b1"] == 1
    assert venue.trades(venue.ask("d1-late", 100, qty=1, dataset_id="d1")) == []
    assert venue.trades(venue.ask("d3", 100, qty=1, dataset_id="d3")) == [("b1", "d3", 110, 1)]
    assert "b1" not in venue.resting()


def test_bid_naming_a_dataset_buys_several_licences_of_it(venue: Venue) -> None:
    venue.ask("other", 90, qty=5, dataset_id="d2")
    venue.ask("d1", 100, qty=None, dataset_id="d1")
    events = venue.bid("b1", 110, 3, dataset_id="d1")
    assert venue.trades(events) == [("b1", "d1", 100, 3)]


def test_plain_bid_does_not_buy_an_ask_with_terms(venue: Venue) -> None:
    venue.ask("licence", 100, quality=90)
    assert venue.trades(venue.bid("plain", 110, 1)) == []
    assert venue.trades(venue.bid("constrained", 110, 1, min_quality=0)) == [
        ("constrained", "licence", 100, 1)
    ]


def test_incoming_ask_fills_eligible_bids_in_price_then_time_order(venue: Venue) -> None:
    venue.bid("ads", 120, 1, purpose="marketing.advertising")
    venue.bid("early", 110, 1, min_quality=0)
    venue.bid("late", 110, 1, min_quality=0)
    venue.bid("best", 115, 1, data_classes={"anonymized"})
    events = venue.ask("a1", 100, qty=None, allowed_purposes={"research.medical"})
    assert venue.trades(events) == [
        ("best", "a1", 115, 1),
        ("early", "a1", 110, 1),
        ("late", "a1", 110, 1),
    ]


def test_update_keeps_time_priority(venue: Venue) -> None:
    api = venue.api
    venue.ask("first", 100, quality=50)
    venue.ask("second", 100, quality=50)
    venue.do(
        api.Update("first", INSTRUMENT, api.Side.SELL, terms=venue.terms("first", quality=50, k=9))
    )
    assert venue.trades(venue.bid("b1", 100, 1, min_quality=0)) == [("b1", "first", 100, 1)]


def test_update_with_a_new_quality_lets_a_resting_bid_trade(venue: Venue) -> None:
    api = venue.api
    venue.bid("b1", 110, 1, min_quality=80)
    venue.ask("a1", 100, quality=70)
    events = venue.do(
        api.Update("a1", INSTRUMENT, api.Side.SELL, terms=venue.terms("a1", quality=85))
    )
    assert venue.kinds(events) == ["updated", "trade"]
    assert venue.trades(events) == [("b1", "a1", 110, 1)]


def test_update_with_a_wrong_side_is_rejected(venue: Venue) -> None:
    api = venue.api
    venue.ask("a1", 100, quality=70)
    events = venue.do(api.Update("a1", INSTRUMENT, api.Side.BUY, constraints=venue.constraints()))
    assert venue.kinds(events) == ["rejected"]


def test_invalid_terms_are_rejected(venue: Venue) -> None:
    assert venue.kinds(venue.ask("a1", 100, data_class="personal", k=5)) == ["rejected"]
    assert venue.kinds(venue.ask("a2", 100, quality=101)) == ["rejected"]
    assert venue.kinds(venue.ask("a3", 100, allowed_purposes=set())) == ["rejected"]
    assert venue.kinds(venue.bid("b1", 100, 1, data_classes=set())) == ["rejected"]
