"""Property: for random people, conditions and requests, what a bank provides (the provision
records and consent receipts the market stores) equals a brute-force filter of its delegators."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from market import db
from market.banks import board, delegation, pool
from market.banks.judgement import ProvisionAsk
from market.models import Participant
from market.personal.conditions import from_body
from market.personal.errors import CohortBelowMinimum
from market.personal.standing import put_conditions
from market.personal.tables import ConsentReceipt, ProvisionRecord
from market.service import Market
from market.settings import Settings
from tests.unit.market.banks.test_judgement import brute_force_allows
from tests.unit.market.personal.people import checkup

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ASKED_AT = T0 + timedelta(days=1)
PURPOSES = ["research.medical", "health.care", "tourism.promotion", "finance.credit"]
CODES = ["health_checkup", "location_history"]
DATA = {
    "health_checkup": checkup(1),
    "location_history": {"recorded_at": "2026-05-01T09:00:00+09:00", "latitude": 35.0,
                         "longitude": 135.7},
}  # fmt: skip


def subset(values: list[str], min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=min_size, unique=True).map(sorted)


person_strategy = st.fixed_dictionaries(
    {
        "where": st.sampled_from(["bank", "bank", "bank", "other_bank", "self"]),
        "held": subset(CODES),
        "conditions": st.none()
        | st.fixed_dictionaries(
            {
                "purposes": subset(PURPOSES, 1),
                "categories": subset(CODES, 1),
                "allowed_recipient_categories": subset(["insurance", "research"]),
                "denied_recipient_categories": subset(["insurance"]),
                "denied_recipients": subset(["jp_insurer"]),
                "abroad_allowed": st.booleans(),
                "anonymized_only": st.booleans(),
                "min_price_per_record_yen": st.sampled_from([0, 100, 300]),
                "expires_at": st.sampled_from(
                    [None, T0 + timedelta(hours=1), T0 + timedelta(days=2)]
                ),
            }
        ),
    }
)
ask_strategy = st.fixed_dictionaries(
    {
        "recipient": st.sampled_from(["jp_insurer", "us_insurer", "unverified_lab"]),
        "purpose": st.sampled_from(PURPOSES),
        "categories": subset(CODES, 1),
        "price_per_record_yen": st.sampled_from([50, 100, 300]),
    }
)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    folder = tmp_path_factory.mktemp("property")
    market = Market(
        Settings(
            _env_file=None,
            environment="test",
            data_dir=folder / "var",
            database_url=f"sqlite:///{folder / 'market.db'}",
            master_key="11" * 32,
            redis_url=None,
        )
    )
    market.migrate()
    yield market
    market.close()


def _recipients(market: Market) -> dict[str, Participant]:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    made = {}
    for name, category, country, verified in (
        ("jp_insurer", "insurance", "JP", True),
        ("us_insurer", "insurance", "US", True),
        ("unverified_lab", "research", "JP", False),
    ):
        someone, _ = market.accounts.register(
            name=name, kind="business", recipient_category=category, country=country
        )
        if verified:
            someone = market.accounts.set_verification(
                operator=operator, participant_id=someone.id, verified=True, reason="register"
            )
        made[name] = someone
    return made


def _body(spec: dict[str, Any], recipients: dict[str, Participant]) -> dict[str, Any]:
    expires = spec["expires_at"]
    denied = spec["denied_recipient_categories"]
    return {
        **spec,
        # A category is allowed or denied, never both (the conditions refuse that).
        "allowed_recipient_categories": [
            c for c in spec["allowed_recipient_categories"] if c not in denied
        ],
        "denied_recipients": [recipients[name].id for name in spec["denied_recipients"]],
        "expires_at": expires.isoformat() if expires else None,
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=st.lists(person_strategy, min_size=1, max_size=6), asked=ask_strategy)
def test_what_a_bank_provides_equals_a_brute_force_filter(
    market: Market, people: list[dict[str, Any]], asked: dict[str, Any]
) -> None:
    recipients = _recipients(market)
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    other_bank, _ = market.accounts.register(name="Other bank", kind="info_bank")
    expected: dict[str, int] = {}
    recipient = recipients[asked["recipient"]]
    ask = ProvisionAsk(
        recipient_id=recipient.id,
        recipient_category="research" if asked["recipient"] == "unverified_lab" else "insurance",
        recipient_country="US" if asked["recipient"] == "us_insurer" else "JP",
        purpose=asked["purpose"],
        categories=frozenset(asked["categories"]),
        price_per_record_yen=asked["price_per_record_yen"],
        at=ASKED_AT,
    )
    if asked["recipient"] == "unverified_lab":
        # Unverified facts count for nothing: judged as no category and no country.
        ask = ProvisionAsk(
            **{**ask.__dict__, "recipient_category": None, "recipient_country": None}
        )
    for spec in people:
        someone, _ = market.accounts.register(name="Person", kind="individual")
        if spec["held"]:
            market.pds.store_records(
                person=someone, items=[(code, DATA[code]) for code in spec["held"]], source="api"
            )
        conditions = None
        with db.unit_of_work(market.db) as session:
            if spec["conditions"] is not None:
                body = _body(spec["conditions"], recipients)
                row = put_conditions(
                    session=session, person=someone, body=body, now=T0, minor_age_below=18
                )
                conditions = from_body(row.version, row.body)
            if spec["where"] != "self":
                chosen = bank if spec["where"] == "bank" else other_bank
                delegation.delegate(session=session, person=someone, bank_id=chosen.id, now=T0)
        held = set(spec["held"]) & ask.categories
        if spec["where"] == "bank" and held and brute_force_allows(conditions, ask):
            expected[someone.id] = len(held)

    provided: dict[str, int] = {}
    with db.unit_of_work(market.db) as session:
        try:
            request = pool.open_pool_request(
                session=session,
                recipient=recipient,
                bank_id=bank.id,
                purpose=ask.purpose,
                categories=sorted(ask.categories),
                price_per_record_yen=ask.price_per_record_yen,
                now=ASKED_AT,
                ref_key=market.pds.ref_key,
            )
        except CohortBelowMinimum:
            request = None
        if request is not None and request.status == "board_pending":
            board.decide_case(
                session=session,
                bank=bank,
                request_id=request.id,
                approve=True,
                reason="property test",
                member=None,
                now=ASKED_AT,
                ref_key=market.pds.ref_key,
            )
        if request is not None:
            records = session.exec(
                select(ProvisionRecord).where(
                    ProvisionRecord.request_id == request.id, ProvisionRecord.side == "provider"
                )
            ).all()
            provided = {r.person_id: len(r.record_ids) for r in records}
            receipts = session.exec(
                select(ConsentReceipt.person_id).where(ConsentReceipt.request_id == request.id)
            ).all()
            assert sorted(receipts) == sorted(provided)
    assert provided == expected
