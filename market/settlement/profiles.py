"""Who charges what: a participant's tax profile and an instrument's market fee."""

from sqlmodel import Session

from market.audit import record_operator_action
from market.errors import InvalidRequest
from market.events import record_event
from market.models import Instrument, Participant
from market.money import MAX_YEN
from market.settlement.registration import registration_number_problem
from market.trading.instruments import require_instrument

CORPORATE_KINDS = ("business", "info_bank")


def set_tax_profile(
    *,
    session: Session,
    participant: Participant,
    taxable_business: bool,
    invoice_registration_number: str | None,
) -> Participant:
    """Declare whether the participant is a taxable business and its registration number.

    A registration number belongs to a taxable business only. A business's or information
    bank's number must carry its corporate number's check digit.
    """
    number = (invoice_registration_number or "").strip() or None
    if number is not None:
        if not taxable_business:
            raise InvalidRequest(
                "only a taxable business holds a registration number: set taxable_business "
                "true, or leave invoice_registration_number empty"
            )
        problem = registration_number_problem(
            number, corporation=participant.kind in CORPORATE_KINDS
        )
        if problem is not None:
            raise InvalidRequest(problem)
    current = session.get(Participant, participant.id)
    if current is None:
        raise InvalidRequest("the participant no longer exists")
    current.taxable_business = taxable_business
    current.invoice_registration_number = number
    session.add(current)
    record_event(
        session,
        "TaxProfileSet",
        {"participant_id": current.id, "taxable_business": taxable_business},
    )
    return current


def set_instrument_fees(
    *,
    session: Session,
    operator: Participant,
    instrument: str,
    fee_bps: int,
    fee_minimum_yen: int,
    reason: str,
) -> Instrument:
    """Set the market fee of one instrument's trades (an operator's audited action)."""
    if not 0 <= fee_bps <= 10_000:
        raise InvalidRequest("fee_bps must be between 0 and 10000 (basis points)")
    if not 0 <= fee_minimum_yen <= MAX_YEN:
        raise InvalidRequest(f"fee_minimum_yen must be between 0 and {MAX_YEN:,}")
    row = require_instrument(session=session, name=instrument)
    before = {"fee_bps": row.fee_bps, "fee_minimum_yen": row.fee_minimum_yen}
    row.fee_bps = fee_bps
    row.fee_minimum_yen = fee_minimum_yen
    session.add(row)
    record_operator_action(
        session=session,
        operator=operator,
        action="instrument.fees_set",
        target_id=instrument[:64],
        reason=reason,
        details={
            "instrument": instrument,
            "from": before,
            "to": {"fee_bps": fee_bps, "fee_minimum_yen": fee_minimum_yen},
        },
    )
    record_event(
        session,
        "InstrumentFeesSet",
        {"instrument": instrument, "fee_bps": fee_bps, "fee_minimum_yen": fee_minimum_yen},
    )
    return row
