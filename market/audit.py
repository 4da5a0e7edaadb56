"""The operator audit log: every operator action that changes a participant's standing or money.

Credit grants, deposits, verifications, key revocations and invoices marked paid each write one
`OperatorAction` row in the same transaction as the change, with who, when, what and why.
"""

from typing import Any

from sqlmodel import Session

from market.errors import InvalidRequest
from market.models import OperatorAction, Participant

MAX_REASON = 500


def record_operator_action(
    *,
    session: Session,
    operator: Participant,
    action: str,
    target_id: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> OperatorAction:
    """Write one audit row for an operator's action; the reason is required."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("an operator action needs a reason: say why, for the audit log")
    if len(reason) > MAX_REASON:
        raise InvalidRequest(f"reason is at most {MAX_REASON} characters")
    entry = OperatorAction(
        operator_id=operator.id,
        action=action,
        target_id=target_id,
        reason=reason,
        details=details or {},
    )
    session.add(entry)
    return entry
