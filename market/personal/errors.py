"""Named refusals of the PDS, the banks and sign-in; each says what the person or buyer can do.

A refusal stores nothing: the service raises before its unit of work commits.
"""

from market.errors import Conflict, Forbidden, InvalidRequest, MarketError


class RecordRejected(InvalidRequest):
    title = "Personal record rejected"


class ConditionsRejected(InvalidRequest):
    title = "Conditions rejected"


class ProvisionRefused(Forbidden):
    """A provision the person's conditions do not cover; `code` names the failing rule."""

    title = "Provision refused"
    code = "not_covered"


class NoConditions(ProvisionRefused):
    title = "No conditions in effect"
    code = "no_conditions"


class ConditionsExpired(ProvisionRefused):
    title = "Conditions expired"
    code = "expired"


class RecipientDenied(ProvisionRefused):
    title = "Recipient denied"
    code = "recipient"


class PurposeNotAllowed(ProvisionRefused):
    title = "Purpose not allowed"
    code = "purpose"


class CategoryNotCovered(ProvisionRefused):
    title = "Data category not covered"
    code = "category"


class AbroadNotAllowed(ProvisionRefused):
    title = "Provision abroad not allowed"
    code = "abroad"


class AnonymizedOnly(ProvisionRefused):
    title = "Anonymized provision only"
    code = "anonymized_only"


class PriceBelowMinimum(ProvisionRefused):
    title = "Price below the person's minimum"
    code = "price"


class ExplicitConsentRequired(ProvisionRefused):
    title = "Explicit consent required"
    code = "explicit_consent_required"


class GuardianRequired(Forbidden):
    title = "Guardian confirmation required"


class NotSelfControl(Conflict):
    title = "Person has delegated to an information bank"


class RequestNotPending(Conflict):
    title = "Request already decided"


class AwaitingPersonDecision(Conflict):
    title = "Waiting for the person's decision"


class BoardDecisionRequired(Conflict):
    title = "Data-ethics board decision required"


class BoardRejected(Forbidden):
    title = "Rejected by the data-ethics board"


class CohortBelowMinimum(Forbidden):
    title = "Cohort below minimum"


class DeclinedByPerson(Forbidden):
    title = "Declined by the person"


class ProvisionCancelled(Forbidden):
    title = "Provision cancelled"


class SignInFailed(MarketError):
    status = 401
    title = "Sign-in failed"


class SessionExpired(MarketError):
    status = 401
    title = "Session expired"


class ReauthenticationRequired(MarketError):
    status = 401
    title = "Fresh sign-in required"


REFUSALS: dict[str, type[ProvisionRefused]] = {
    cls.code: cls
    for cls in (
        NoConditions,
        ConditionsExpired,
        RecipientDenied,
        PurposeNotAllowed,
        CategoryNotCovered,
        AbroadNotAllowed,
        AnonymizedOnly,
        PriceBelowMinimum,
        ExplicitConsentRequired,
    )
}
