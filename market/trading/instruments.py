"""The instrument registry: an order book exists once a first listing or an operator creates it.

An instrument is named `<dataset category>/<data class>` (e.g. `mobility.traffic/non_personal`).
A bid on a name that is not registered is refused with the nearest registered names, instead of
opening a book nobody sells in.
"""

import difflib
import re

from sqlmodel import Session, select

from market.errors import Conflict, InvalidRequest
from market.models import Instrument, Participant

NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*/(personal|anonymized|non_personal)$")


class UnknownInstrument(InvalidRequest):
    title = "Unknown instrument"


def instrument_of(category: str, data_class: str) -> str:
    """The order book a dataset trades in: its category and data class."""
    return f"{category}/{data_class}"


def ensure_instrument(*, session: Session, name: str, created_by: Participant) -> Instrument:
    """The registered instrument of this name, registering it on first use by a listing."""
    instrument = session.get(Instrument, name)
    if instrument is None:
        instrument = Instrument(name=name, created_by=created_by.id)
        session.add(instrument)
        session.flush()
    return instrument


def create_instrument(*, session: Session, name: str, operator: Participant) -> Instrument:
    """Register an instrument ahead of its first listing (an operator's action)."""
    if not NAME.match(name):
        raise InvalidRequest(
            "an instrument is named <category>/<data class>: a dotted lower-case category "
            "(e.g. mobility.traffic) and one of personal, anonymized, non_personal"
        )
    if session.get(Instrument, name) is not None:
        raise Conflict(f"instrument {name} already exists")
    return ensure_instrument(session=session, name=name, created_by=operator)


def require_instrument(*, session: Session, name: str) -> Instrument:
    """The registered instrument of this name, or UnknownInstrument naming the nearest ones."""
    instrument = session.get(Instrument, name)
    if instrument is not None:
        return instrument
    names = list(session.exec(select(Instrument.name)))
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else "; GET /instruments lists them"
    raise UnknownInstrument(f"there is no instrument {name!r}{hint}")
