"""Names shared by the customer workflows, the worker and the API: defined once here."""

from __future__ import annotations

REGISTER_CUSTOMER = "RegisterCustomer"
UPDATE_CUSTOMER = "UpdateCustomer"

# Business refusals an activity reports (non-retryable ApplicationError types).
REFUSALS = ("DuplicateEmail", "CustomerNotFound", "VersionMismatch")


def register_request_id(key: str) -> str:
    """The request id of a registration; ``key`` is the Idempotency-Key or a fresh uuid."""
    return f"register-{key}"


def update_request_id(customer_id: int, key: str) -> str:
    return f"update-{customer_id}-{key}"


def request_workflow_id(request_id: str) -> str:
    return f"customer-request-{request_id}"
