"""Contract: books with long level lines (asks with terms get a level per price and quality).

Levels empty inside the line, below and at the best, and are created again, with the book
validated after each command, on every build and book implementation.
"""

from tests.unit.matching.conftest import Venue

PRICES = range(100, 110)
QUALITIES = range(0, 100, 10)


def fill_line(venue: Venue) -> list[str]:
    """One ask per (price, quality): 100 levels in one bucket; ids in priority order."""
    ids = []
    for price in PRICES:
        for quality in QUALITIES:
            order_id = f"a{price}-{quality}"
            venue.ask(order_id, price, 1, quality=quality, dataset_id=f"d{price}-{quality}")
            ids.append((price, -quality, order_id))
    return [order_id for _, _, order_id in sorted(ids)]


def test_cancelled_levels_inside_a_long_line_keep_priority(venue: Venue) -> None:
    ranked = fill_line(venue)
    # Empty every other level below the best.
    cancelled = ranked[1::2]
    for order_id in cancelled:
        venue.do(venue.api.Cancel(order_id, "healthcare.checkup/anonymized"))
    events = venue.bid("b1", 200, 10, who="buyer", min_quality=0)
    sold = [sell for _, sell, _, _ in venue.trades(events)]
    assert sold == ranked[0::2][:10]


def test_emptied_levels_are_created_again_by_new_orders(venue: Venue) -> None:
    ranked = fill_line(venue)
    for order_id in ranked[5:60]:
        venue.do(venue.api.Cancel(order_id, "healthcare.checkup/anonymized"))
    # New asks at the emptied ranks queue behind nothing: they fill in rank order.
    venue.ask("again-101-50", 101, 1, quality=50, dataset_id="n1")
    venue.ask("again-100-0", 100, 1, quality=0, dataset_id="n2")
    events = venue.bid("b1", 200, 7, who="buyer", min_quality=0)
    sold = [sell for _, sell, _, _ in venue.trades(events)]
    assert sold == [*ranked[:5], "again-100-0", "again-101-50"]


def test_sweeping_the_best_level_past_emptied_levels(venue: Venue) -> None:
    ranked = fill_line(venue)
    # Levels emptied right under the best one, then a sweep that empties the best level.
    for order_id in ranked[1:30]:
        venue.do(venue.api.Cancel(order_id, "healthcare.checkup/anonymized"))
    events = venue.bid("b1", 200, 3, who="buyer", min_quality=0)
    sold = [sell for _, sell, _, _ in venue.trades(events)]
    assert sold == [ranked[0], ranked[30], ranked[31]]
    assert len(venue.resting()) == len(ranked) - 29 - 3


def ladder_prices(venue: Venue) -> list[int] | None:
    """Prices with a rung in the fast book's ask ladders (None for the reference book)."""
    book = venue.engine.books["healthcare.checkup/anonymized"]
    if not hasattr(book, "ask_ladders"):
        return None
    return sorted(-key for ladder in book.ask_ladders if ladder is not None for key in ladder.keys)


def test_a_line_emptied_but_for_its_ends(venue: Venue) -> None:
    ranked = fill_line(venue)
    for order_id in ranked[1:-1]:
        venue.do(venue.api.Cancel(order_id, "healthcare.checkup/anonymized"))
    # A new level in a line emptied but for its best and worst levels.
    venue.ask("late", 150, 1, quality=5, dataset_id="late")
    assert ladder_prices(venue) in (None, [100, 109, 150])
    events = venue.bid("b1", 200, 3, who="buyer", min_quality=0)
    sold = [sell for _, sell, _, _ in venue.trades(events)]
    assert sold == [ranked[0], ranked[-1], "late"]
    assert ladder_prices(venue) in (None, [])
