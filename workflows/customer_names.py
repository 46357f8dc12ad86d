"""Names shared by the customer workflows, the worker and the API: defined once here."""

from __future__ import annotations

REGISTER_CUSTOMER = "RegisterCustomer"
UPDATE_CUSTOMER = "UpdateCustomer"
ERASE_CUSTOMER = "EraseCustomer"
SWEEP_CUSTOMER_HISTORIES = "SweepCustomerHistories"

# Business refusals an activity reports (non-retryable ApplicationError types).
REFUSALS = ("DuplicateEmail", "CustomerNotFound", "VersionMismatch", "CustomerErased")


def register_request_id(key: str) -> str:
    """The request id of a registration; ``key`` is the Idempotency-Key or a fresh uuid."""
    return f"register-{key}"


def update_request_id(customer_id: int, key: str) -> str:
    return f"update-{customer_id}-{key}"


def erase_request_id(customer_id: int) -> str:
    """One erasure per customer: a repeated DELETE joins it (or, once it ended, repeats it,
    which changes nothing)."""
    return f"erase-{customer_id}"


def request_workflow_id(request_id: str) -> str:
    return f"customer-request-{request_id}"


def update_workflow_id_prefix(customer_id: int) -> str:
    """What the ids of all of a customer's update workflows start with (and no other
    customer's: the id is followed by a dash)."""
    return request_workflow_id(update_request_id(customer_id, ""))


def sweep_workflow_id(customer_id: int) -> str:
    return f"{request_workflow_id(erase_request_id(customer_id))}-sweep"
