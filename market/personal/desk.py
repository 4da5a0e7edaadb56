"""The PDS's entry points for the API: each opens one unit of work around one service function.

`Market` builds one `PdsDesk` (its composition root); the desk owns no rules of its own.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine
from sqlmodel import Session

from market.banks import delegation as delegations
from market.banks import trades
from market.banks.tables import Delegation
from market.desk import UnitOfWork
from market.errors import NotFound
from market.models import Participant, utcnow
from market.personal import consent, direct, provision, records, requests, signin, standing
from market.personal.tables import (
    ConditionsVersion,
    ConsentReceipt,
    PersonAccount,
    PersonalRecord,
    PersonSession,
    ProvisionRecord,
    ProvisionRequest,
)
from market.settings import Settings
from market.storage import BlobStore

T = TypeVar("T")


class TradingUnit(Protocol):
    """What a decision on a trade needs of the order desk (market/trading/desk.py): its trading
    transaction, and journaling, applying and booking one engine command inside it."""

    running: bool

    def transaction(self, work: Callable[[Session], T]) -> T: ...

    def submit(self, session: Session, command: Any | None) -> list[Any]: ...

    def book(self, session: Session, events: list[Any], placed_id: str | None = None) -> Any: ...


def reference_key(master_key: bytes) -> bytes:
    """The key of pseudonymous person references, derived apart from every storage key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"person-reference")
    return hkdf.derive(master_key)


class Desk(UnitOfWork):
    """Shared plumbing of the PDS and bank desks: a unit of work, the clock, references."""

    def __init__(
        self,
        engine: Engine,
        store: BlobStore,
        settings: Settings,
        *,
        after_commit: Callable[[], None],
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(engine, after_commit=after_commit)
        self.store = store
        self.settings = settings
        self.now = now
        self.ref_key = reference_key(settings.resolved_master_key())
        # Called after a change that can alter who may receive whose records (conditions,
        # delegations, records): the market recomputes its PDS listings' engine terms then.
        self.on_people_changed: Callable[[], object] = lambda: None
        # The order desk, wired by the market: a decision that unwinds a trade runs in its
        # trading transaction, so the engine's `Unwind` is journaled with the decision.
        self.orders: TradingUnit | None = None

    def changed(self, result: T) -> T:
        """Pass `result` through after letting the order book see the change."""
        self.on_people_changed()
        return result

    def decided(self, work: Callable[[Session], tuple[T, Any | None]]) -> T:
        """Run a decision on a provision request; the engine command it returns (a trade's
        `Unwind`) is journaled, applied and booked in the same trading transaction."""
        orders = self.orders if self.orders is not None and self.orders.running else None

        def run(session: Session) -> T:
            result, command = work(session)
            if command is not None:
                if orders is None:
                    # Rolled back: only the engine's owner can void a trade in the order book.
                    raise RuntimeError("a trade is unwound only by the running market's engine")
                orders.book(session, orders.submit(session, command))
            return result

        return self.transaction(run) if orders is None else orders.transaction(run)


class PdsDesk(Desk):
    """A person's records, conditions, delegation, requests, receipts and sign-in."""

    # records
    def store_records(
        self, *, person: Participant, items: list[tuple[str, dict[str, Any]]], source: str
    ) -> list[PersonalRecord]:
        """Validate all, seal all, record all; nothing stays behind if any step fails."""
        standing.require_individual(person, "the record holder")
        prepared = records.prepare(items)
        try:
            stored = self.transaction(
                lambda s: records.store_records(
                    session=s,
                    store=self.store,
                    person_id=person.id,
                    prepared=prepared,
                    source=source,
                )
            )
        except BaseException:
            for item in prepared:
                self.store.delete(item.id)
            raise
        return self.changed(stored)

    def records(
        self, *, person: Participant, category: str | None = None
    ) -> list[tuple[PersonalRecord, dict[str, Any]]]:
        rows = self.read(
            lambda s: records.list_records(session=s, person_id=person.id, category_code=category)
        )
        return [(row, records.read_record(store=self.store, record_id=row.id)[1]) for row in rows]

    def record_data(self, *, record_id: str) -> dict[str, Any]:
        return records.read_record(store=self.store, record_id=record_id)[1]

    # sign-in
    def set_password(
        self, *, person: Participant, password: str, current_password: str | None
    ) -> None:
        self.transaction(
            lambda s: signin.set_password(
                session=s,
                person=person,
                password=password,
                current_password=current_password,
                now=self.now(),
            )
        )

    def sign_in(self, *, person_id: str, password: str) -> tuple[PersonSession, str]:
        lifetime = timedelta(minutes=self.settings.person_session_minutes)
        return self.transaction(
            lambda s: signin.sign_in(
                session=s,
                person_id=person_id,
                password=password,
                now=self.now(),
                lifetime=lifetime,
            )
        )

    def session_of(self, token: str) -> tuple[Participant, PersonSession]:
        def work(s: Session) -> tuple[Participant, PersonSession]:
            row = signin.open_session(session=s, presented=token, now=self.now())
            person = s.get(Participant, row.person_id)
            if person is None:
                raise NotFound("the account of this session no longer exists")
            return person, row

        return self.read(work)

    def reauthenticate(self, *, row: PersonSession, password: str) -> PersonSession:
        def work(s: Session) -> PersonSession:
            live = _live_session(s, row)
            return signin.reauthenticate(session=s, row=live, password=password, now=self.now())

        return self.transaction(work)

    def sign_out(self, *, row: PersonSession) -> None:
        def work(s: Session) -> None:
            live = _live_session(s, row)
            signin.sign_out(session=s, row=live, now=self.now())

        self.transaction(work)

    def _require_fresh(self, row: PersonSession | None) -> None:
        window = timedelta(minutes=self.settings.reauthentication_minutes)
        signin.require_fresh(row, now=self.now(), window=window)

    # account, conditions, guardianship
    def set_account(
        self,
        *,
        person: Participant,
        birth_date: date | None,
        guardian_id: str | None,
        signed_in: PersonSession | None,
    ) -> PersonAccount:
        self._require_fresh(signed_in)
        return self.transaction(
            lambda s: standing.set_account(
                session=s,
                person=person,
                birth_date=birth_date,
                guardian_id=guardian_id,
                now=self.now(),
                minor_age_below=self.settings.minor_age_below,
            )
        )

    def account(self, *, person: Participant) -> PersonAccount | None:
        return self.read(lambda s: standing.account_of(s, person.id))

    def put_conditions(
        self, *, person: Participant, body: dict[str, Any], signed_in: PersonSession | None
    ) -> ConditionsVersion:
        self._require_fresh(signed_in)
        standing.require_individual(person, "the holder of conditions")
        return self.changed(
            self.transaction(
                lambda s: standing.put_conditions(
                    session=s,
                    person=person,
                    body=body,
                    now=self.now(),
                    minor_age_below=self.settings.minor_age_below,
                )
            )
        )

    def conditions_history(self, *, person_id: str) -> list[ConditionsVersion]:
        return self.read(lambda s: standing.versions(session=s, person_id=person_id))

    def confirm_for_ward(
        self, *, guardian: Participant, person_id: str, version: int
    ) -> ConditionsVersion:
        return self.changed(
            self.transaction(
                lambda s: standing.confirm_conditions(
                    session=s,
                    guardian=guardian,
                    person_id=person_id,
                    version=version,
                    now=self.now(),
                )
            )
        )

    def waiting_for_guardian(self, *, guardian: Participant) -> list[ConditionsVersion]:
        return self.read(
            lambda s: standing.waiting_for_guardian(session=s, guardian_id=guardian.id)
        )

    # delegation
    def delegate(
        self, *, person: Participant, bank_id: str, signed_in: PersonSession | None
    ) -> Delegation:
        self._require_fresh(signed_in)
        standing.require_individual(person, "a delegating person")

        def work(s: Session) -> Delegation:
            standing.require_guardian_if_minor(
                session=s,
                person_id=person.id,
                now=self.now(),
                minor_age_below=self.settings.minor_age_below,
            )
            return delegations.delegate(session=s, person=person, bank_id=bank_id, now=self.now())

        return self.changed(self.transaction(work))

    def end_delegation(
        self, *, person: Participant, signed_in: PersonSession | None
    ) -> Delegation | None:
        self._require_fresh(signed_in)
        return self.changed(
            self.transaction(
                lambda s: delegations.end_delegation(session=s, person=person, now=self.now())
            )
        )

    def delegation(self, *, person: Participant) -> Delegation | None:
        return self.read(lambda s: delegations.current_delegation(session=s, person_id=person.id))

    # requests, consents, provisions
    def open_direct_request(self, *, recipient: Participant, **terms: Any) -> ProvisionRequest:
        return self.transaction(
            lambda s: direct.open_direct_request(
                session=s, recipient=recipient, now=self.now(), **terms
            )
        )

    def pending_requests(self, *, person: Participant) -> list[ProvisionRequest]:
        return self.read(lambda s: requests.pending_for_person(session=s, person_id=person.id))

    def decide(self, *, person: Participant, request_id: str, approve: bool) -> ProvisionRequest:
        """The person's decision; a trade waiting on it is settled or unwound in the same
        transaction."""

        def work(s: Session) -> tuple[ProvisionRequest, Any | None]:
            request = direct.decide_request(
                session=s,
                person=person,
                request_id=request_id,
                approve=approve,
                now=self.now(),
                ref_key=self.ref_key,
            )
            unwind = trades.conclude(
                session=s, request=request, now=self.now(), fee_bps=self.settings.market_fee_bps
            )
            return request, unwind

        return self.decided(work)

    def consents(self, *, person: Participant) -> list[ConsentReceipt]:
        return self.read(lambda s: consent.receipts_of(session=s, person_id=person.id))

    def provisions(self, *, participant: Participant) -> list[ProvisionRecord]:
        if participant.kind == "individual":
            return self.read(
                lambda s: provision.provisions_about(session=s, person_id=participant.id)
            )
        return self.read(
            lambda s: provision.provisions_booked_by(session=s, owner_id=participant.id)
        )

    def request_for_recipient(self, *, recipient: Participant, request_id: str) -> ProvisionRequest:
        request = self.read(lambda s: requests.get_request(s, request_id))
        if request.recipient_id != recipient.id:
            raise NotFound(f"you made no request {request_id}")
        return request

    def delivered_rows(self, *, recipient: Participant, request_id: str) -> list[dict[str, Any]]:
        """One row per provided record: the recipient's pseudonymous person reference and data."""

        def work(s: Session) -> list[ProvisionRecord]:
            request = requests.get_request(s, request_id)
            requests.require_deliverable(request, recipient.id)
            return provision.provided_for_request(session=s, request_id=request_id)

        rows = []
        for booked in self.read(work):
            for record_id in booked.record_ids:
                category, data = records.read_record(store=self.store, record_id=record_id)
                rows.append({"person_ref": booked.person_ref, "category": category, "data": data})
        return rows


def _live_session(session: Session, row: PersonSession) -> PersonSession:
    live = session.get(PersonSession, row.id)
    if live is None:
        raise NotFound("this session no longer exists: sign in again")
    return live
