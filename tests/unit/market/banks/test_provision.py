"""Provision through the market: direct approval, the bank's pool, the board, receipts, records."""

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from market.events import InProcessBus
from market.personal.errors import (
    AbroadNotAllowed,
    BoardDecisionRequired,
    BoardRejected,
    CohortBelowMinimum,
    ConditionsExpired,
    NotSelfControl,
    RecipientDenied,
)
from market.personal.tables import ConsentReceipt, ProvisionRecord, ProvisionRequest
from market.service import Market
from market.settings import Settings
from tests.unit.market.personal.people import NOW, checkup, conditions, person, recipient


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    market = Market(settings, bus=InProcessBus()).start()
    market.pds.now = market.banks.now = lambda: NOW
    yield market
    market.close()


def count(market: Market, table: type) -> int:
    with Session(market.db) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def holder(market: Market, name: str, **overrides):  # type: ignore[no-untyped-def]
    someone, session = person(market, name)
    market.pds.store_records(
        person=someone,
        items=[("health_checkup", checkup()), ("health_checkup", checkup(2))],
        source="api",
    )
    market.pds.put_conditions(person=someone, body=conditions(**overrides), signed_in=session)
    return someone, session


def ask(**terms):  # type: ignore[no-untyped-def]
    return {
        "purpose": "research.medical",
        "categories": ["health_checkup"],
        "price_per_record_yen": 200,
        **terms,
    }


def test_direct_request_waits_for_approval_then_provides_with_a_receipt(market: Market) -> None:
    someone, _ = holder(market, "A")
    insurer = recipient(market)
    request = market.pds.open_direct_request(recipient=insurer, person_id=someone.id, **ask())
    assert [r.id for r in market.pds.pending_requests(person=someone)] == [request.id]
    assert request.explanation["en"]["recipient"]["verification"] == "verified"
    with pytest.raises(Exception, match="not decided"):
        market.pds.delivered_rows(recipient=insurer, request_id=request.id)

    decided = market.pds.decide(person=someone, request_id=request.id, approve=True)
    assert decided.status == "provided"
    [receipt] = market.pds.consents(person=someone)
    assert receipt.receipt["schema_version"] == "ISO/IEC TS 27560:2023"
    assert receipt.receipt["processing"]["collection_method"] == "explicit"
    assert receipt.conditions_version == 1
    rows = market.pds.delivered_rows(recipient=insurer, request_id=request.id)
    assert len(rows) == 2 and {r["category"] for r in rows} == {"health_checkup"}
    assert rows[0]["person_ref"] != someone.id and someone.id not in str(rows)
    [mine] = market.pds.provisions(participant=someone)
    [theirs] = market.pds.provisions(participant=insurer)
    assert mine.side == "provider" and theirs.side == "recipient"
    assert mine.consent_receipt_id == theirs.consent_receipt_id == receipt.id


def test_a_declined_request_provides_nothing(market: Market) -> None:
    someone, _ = holder(market, "A")
    insurer = recipient(market)
    request = market.pds.open_direct_request(recipient=insurer, person_id=someone.id, **ask())
    assert (
        market.pds.decide(person=someone, request_id=request.id, approve=False).status == "declined"
    )
    assert count(market, ConsentReceipt) == count(market, ProvisionRecord) == 0


def test_conditions_that_expired_before_approval_refuse_it_and_store_nothing(
    market: Market,
) -> None:
    someone, _ = holder(market, "A", expires_at=(NOW + timedelta(days=1)).isoformat())
    insurer = recipient(market)
    request = market.pds.open_direct_request(recipient=insurer, person_id=someone.id, **ask())
    market.pds.now = lambda: NOW + timedelta(days=2)
    with pytest.raises(ConditionsExpired):
        market.pds.decide(person=someone, request_id=request.id, approve=True)
    assert count(market, ConsentReceipt) == count(market, ProvisionRecord) == 0
    assert market.pds.pending_requests(person=someone)[0].id == request.id


def test_denied_and_foreign_recipients_are_refused_before_any_request(market: Market) -> None:
    someone, _ = holder(market, "A", denied_recipient_categories=["insurance"])
    with pytest.raises(RecipientDenied):
        market.pds.open_direct_request(recipient=recipient(market), person_id=someone.id, **ask())
    other, _ = holder(market, "B")
    abroad = recipient(market, category="research", country="US", name="US Lab")
    with pytest.raises(AbroadNotAllowed):
        market.pds.open_direct_request(recipient=abroad, person_id=other.id, **ask())
    assert count(market, ProvisionRequest) == 0


def test_a_delegating_person_is_asked_through_the_bank_only(market: Market) -> None:
    someone, session = holder(market, "A")
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    market.pds.delegate(person=someone, bank_id=bank.id, signed_in=session)
    with pytest.raises(NotSelfControl):
        market.pds.open_direct_request(recipient=recipient(market), person_id=someone.id, **ask())


def test_a_sensitive_pool_request_waits_for_the_board_and_provides_the_covered_only(
    market: Market,
) -> None:
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    insurer = recipient(market)
    allowing = [holder(market, f"P{i}") for i in range(3)]
    refusing = [holder(market, "Q", purposes=["health.care"])]
    for someone, session in allowing + refusing:
        market.pds.delegate(person=someone, bank_id=bank.id, signed_in=session)
    assert market.banks.cohort_size(recipient=insurer, bank_id=bank.id, **ask()) == 3

    request = market.banks.open_pool_request(
        recipient=insurer, bank_id=bank.id, min_cohort=2, **ask()
    )
    assert request.status == "board_pending"
    [(case, queued)] = market.banks.board(bank=bank)
    assert queued.id == request.id and case.status == "pending"
    with pytest.raises(BoardDecisionRequired):
        market.pds.delivered_rows(recipient=insurer, request_id=request.id)
    assert count(market, ProvisionRecord) == 0

    _, provided = market.banks.decide(
        bank=bank,
        request_id=request.id,
        approve=True,
        reason="medical research benefit",
        member="委員A",
    )
    assert provided.status == "provided"
    rows = market.pds.delivered_rows(recipient=insurer, request_id=request.id)
    assert len(rows) == 6 and len({r["person_ref"] for r in rows}) == 3
    receipts = [r for someone, _ in allowing for r in market.pds.consents(person=someone)]
    assert {r.receipt["processing"]["collection_method"] for r in receipts} == {"delegated"}
    assert market.pds.consents(person=refusing[0][0]) == []


def test_a_board_rejection_ends_the_request_with_its_reason(market: Market) -> None:
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    insurer = recipient(market)
    someone, session = holder(market, "P")
    market.pds.delegate(person=someone, bank_id=bank.id, signed_in=session)
    request = market.banks.open_pool_request(recipient=insurer, bank_id=bank.id, **ask())
    market.banks.decide(
        bank=bank, request_id=request.id, approve=False, reason="no clear benefit", member=None
    )
    with pytest.raises(BoardRejected, match="no clear benefit"):
        market.pds.delivered_rows(recipient=insurer, request_id=request.id)
    assert count(market, ProvisionRecord) == 0


def test_a_cohort_below_the_minimum_is_refused_and_stores_nothing(market: Market) -> None:
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    someone, session = holder(market, "P")
    market.pds.delegate(person=someone, bank_id=bank.id, signed_in=session)
    with pytest.raises(CohortBelowMinimum):
        market.banks.open_pool_request(
            recipient=recipient(market), bank_id=bank.id, min_cohort=5, **ask()
        )
    assert count(market, ProvisionRequest) == 0


def test_person_references_differ_across_recipients(market: Market) -> None:
    someone, _ = holder(market, "A")
    refs = []
    for name in ("One", "Two"):
        buyer = recipient(market, name=name)
        request = market.pds.open_direct_request(recipient=buyer, person_id=someone.id, **ask())
        market.pds.decide(person=someone, request_id=request.id, approve=True)
        refs.append(
            market.pds.delivered_rows(recipient=buyer, request_id=request.id)[0]["person_ref"]
        )
    assert refs[0] != refs[1]
