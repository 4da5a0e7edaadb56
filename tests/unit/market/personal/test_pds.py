"""The PDS through the market: records sealed at rest, versioned conditions, guardians, sign-in."""

from datetime import date, timedelta

import pytest
from sqlmodel import Session, func, select

from market.errors import InvalidRequest, NotFound
from market.events import InProcessBus
from market.personal.errors import (
    ConditionsRejected,
    GuardianRequired,
    ReauthenticationRequired,
    RecordRejected,
    SessionExpired,
    SignInFailed,
)
from market.personal.tables import (
    ConditionsVersion,
    PersonalRecord,
    PersonCredential,
)
from market.service import Market
from market.settings import Settings
from tests.unit.market.personal.people import NOW, PASSWORD, checkup, conditions, person


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    market = Market(settings, bus=InProcessBus()).start()
    market.pds.now = lambda: NOW
    yield market
    market.close()


def count(market: Market, table: type) -> int:
    with Session(market.db) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_records_are_sealed_in_the_store_and_read_back(market: Market) -> None:
    someone, _ = person(market)
    rows = market.pds.store_records(
        person=someone, items=[("health_checkup", checkup(3))], source="api"
    )
    assert [r.sensitive for r in rows] == [True]
    on_disk = market.store.path_of(rows[0].id).read_bytes()
    assert b"systolic_bp" not in on_disk and b"123" not in on_disk
    [(row, data)] = market.pds.records(person=someone)
    assert row.category == "health_checkup" and data["systolic_bp"] == 123


def test_one_bad_record_rejects_the_batch_and_stores_nothing(market: Market) -> None:
    someone, _ = person(market)
    with pytest.raises(RecordRejected, match="record 2"):
        market.pds.store_records(
            person=someone,
            items=[("health_checkup", checkup()), ("health_checkup", {"checked_on": "soon"})],
            source="import_json",
        )
    assert count(market, PersonalRecord) == 0
    assert list(market.store.root.glob("*.bin")) == []


def test_only_individuals_keep_a_pds(market: Market) -> None:
    company, _ = market.accounts.register(name="Co", kind="business")
    with pytest.raises(InvalidRequest):
        market.pds.store_records(person=company, items=[("profile", {})], source="api")


def test_a_change_makes_a_new_version_and_keeps_the_old(market: Market) -> None:
    someone, session = person(market)
    first = market.pds.put_conditions(person=someone, body=conditions(), signed_in=session)
    second = market.pds.put_conditions(
        person=someone, body=conditions(purposes=["research"]), signed_in=session
    )
    history = market.pds.conditions_history(person_id=someone.id)
    assert [(v.version, v.status) for v in history] == [(2, "in_effect"), (1, "superseded")]
    assert (first.version, second.version) == (1, 2)
    assert history[1].body["purposes"] == ["research.medical"]


def test_a_stale_session_cannot_change_conditions_and_nothing_is_stored(market: Market) -> None:
    someone, session = person(market)
    market.pds.now = lambda: NOW + timedelta(minutes=6)
    with pytest.raises(ReauthenticationRequired):
        market.pds.put_conditions(person=someone, body=conditions(), signed_in=session)
    with pytest.raises(ReauthenticationRequired):
        market.pds.put_conditions(person=someone, body=conditions(), signed_in=None)
    assert count(market, ConditionsVersion) == 0
    fresh = market.pds.reauthenticate(row=session, password=PASSWORD)
    assert (
        market.pds.put_conditions(person=someone, body=conditions(), signed_in=fresh).version == 1
    )


def test_sessions_expire_and_wrong_passwords_fail(market: Market) -> None:
    someone, _ = person(market)
    with pytest.raises(SignInFailed):
        market.pds.sign_in(person_id=someone.id, password="wrong password!")
    with pytest.raises(SignInFailed):
        market.pds.sign_in(person_id="nobody", password=PASSWORD)
    _, token = market.pds.sign_in(person_id=someone.id, password=PASSWORD)
    assert market.pds.session_of(token)[0].id == someone.id
    with pytest.raises(SessionExpired):
        market.pds.session_of(token[:-2] + "xx")
    market.pds.now = lambda: NOW + timedelta(minutes=61)
    with pytest.raises(SessionExpired):
        market.pds.session_of(token)


def test_the_password_is_stored_as_an_argon2id_hash(market: Market) -> None:
    person(market)
    with Session(market.db) as session:
        stored = session.exec(select(PersonCredential)).one()
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


def test_a_minor_needs_a_guardian_whose_confirmation_brings_conditions_into_effect(
    market: Market,
) -> None:
    minor, minor_session = person(market, "Minor")
    guardian, _ = person(market, "Parent")
    market.pds.set_account(
        person=minor, birth_date=date(2012, 1, 1), guardian_id=None, signed_in=minor_session
    )
    with pytest.raises(GuardianRequired):
        market.pds.put_conditions(person=minor, body=conditions(), signed_in=minor_session)
    assert count(market, ConditionsVersion) == 0
    with pytest.raises(GuardianRequired):
        market.pds.delegate(person=minor, bank_id="any", signed_in=minor_session)

    market.pds.set_account(
        person=minor, birth_date=None, guardian_id=guardian.id, signed_in=minor_session
    )
    waiting = market.pds.put_conditions(person=minor, body=conditions(), signed_in=minor_session)
    assert waiting.status == "awaiting_guardian"
    assert [v.version for v in market.pds.waiting_for_guardian(guardian=guardian)] == [1]
    confirmed = market.pds.confirm_for_ward(guardian=guardian, person_id=minor.id, version=1)
    assert confirmed.status == "in_effect" and confirmed.confirmed_by == guardian.id


def test_the_birth_date_is_set_once(market: Market) -> None:
    someone, session = person(market)
    market.pds.set_account(
        person=someone, birth_date=date(1990, 5, 5), guardian_id=None, signed_in=session
    )
    with pytest.raises(Exception, match="already recorded"):
        market.pds.set_account(
            person=someone, birth_date=date(2015, 5, 5), guardian_id=None, signed_in=session
        )


def test_unfollowable_conditions_store_nothing(market: Market) -> None:
    someone, session = person(market)
    with pytest.raises(ConditionsRejected):
        market.pds.put_conditions(
            person=someone, body=conditions(purposes=["astrology"]), signed_in=session
        )
    assert count(market, ConditionsVersion) == 0


def test_delegation_switches_banks_and_returns_to_self_control(market: Market) -> None:
    someone, session = person(market)
    bank_a, _ = market.accounts.register(name="Bank A", kind="info_bank")
    bank_b, _ = market.accounts.register(name="Bank B", kind="info_bank")
    assert (
        market.pds.delegate(person=someone, bank_id=bank_a.id, signed_in=session).bank_id
        == bank_a.id
    )
    assert (
        market.pds.delegate(person=someone, bank_id=bank_b.id, signed_in=session).bank_id
        == bank_b.id
    )
    ended = market.pds.end_delegation(person=someone, signed_in=session)
    assert ended is not None and ended.bank_id == bank_b.id
    assert market.pds.delegation(person=someone) is None
    company, _ = market.accounts.register(name="Co", kind="business")
    with pytest.raises(NotFound):
        market.pds.delegate(person=someone, bank_id=company.id, signed_in=session)
