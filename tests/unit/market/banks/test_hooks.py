"""The order book's questions about people: cohort answers, ask terms, direct-sale terms, counts."""

import pytest
from sqlmodel import Session

from market.banks import hooks
from market.events import InProcessBus
from market.service import Market
from market.settings import Settings
from tests.unit.market.banks.test_provision import ask, holder
from tests.unit.market.personal.people import NOW, recipient


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    market = Market(settings, bus=InProcessBus()).start()
    market.pds.now = market.banks.now = lambda: NOW
    yield market
    market.close()


def test_cohort_answers_hide_counts_below_the_minimum_and_ask_terms_follow_them(
    market: Market,
) -> None:
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    insurer = recipient(market)
    abroad = recipient(market, country="US", name="US Lab", category="research")
    for i in range(3):
        someone, session = holder(market, f"P{i}")
        market.pds.delegate(person=someone, bank_id=bank.id, signed_in=session)
    terms = {
        "purpose": "research.medical",
        "categories": ["health_checkup"],
        "price_per_record_yen": 200,
    }
    with Session(market.db) as s:
        exact = hooks.cohort_answer(
            session=s, bank_id=bank.id, recipient=insurer, min_cohort=3, now=NOW, **terms
        )
        hidden = hooks.cohort_answer(
            session=s, bank_id=bank.id, recipient=insurer, min_cohort=4, now=NOW, **terms
        )
        pool = hooks.pool_terms(
            session=s,
            bank_id=bank.id,
            categories=["health_checkup"],
            price_per_record_yen=200,
            min_cohort=3,
            now=NOW,
        )
    assert exact == hooks.CohortAnswer(below_minimum=False, people=3)
    assert hidden == hooks.CohortAnswer(below_minimum=True, people=None)
    assert pool == {"research.medical": frozenset({insurer.id})}
    assert abroad.id not in pool["research.medical"]


def test_direct_sale_terms_and_the_records_a_trade_delivered(market: Market) -> None:
    someone, _ = holder(market, "A", denied_recipients=[])
    insurer = recipient(market)
    with Session(market.db) as s:
        allowed = hooks.direct_sale_terms(
            session=s,
            person_id=someone.id,
            categories=["health_checkup"],
            price_per_record_yen=200,
            now=NOW,
        )
    assert allowed == {"research.medical": frozenset({insurer.id})}
    request = market.pds.open_direct_request(
        recipient=insurer, person_id=someone.id, reference="trade-1", **ask()
    )
    market.pds.decide(person=someone, request_id=request.id, approve=True)
    with Session(market.db) as s:
        found = hooks.request_for_trade(session=s, trade_id="trade-1")
        assert found is not None and found.id == request.id
        assert hooks.records_delivered(session=s, request_id=request.id) == 2
        assert hooks.people_provided(session=s, request_id=request.id) == 1
