"""Inputs and results of the customer workflows and activities (one dataclass each)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workflows.values import UNKNOWN_ACTOR

ADDRESS_FIELDS = ("street", "city", "postal_code", "country")


@dataclass
class CustomerDetails:
    """What Register Customer takes (already validated by the API)."""

    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def columns(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CustomerChanges:
    """A partial update: the given columns get the given values (None clears an optional one)."""

    values: dict[str, Any] = field(default_factory=dict)

    def differences(self, current: CustomerRecord) -> dict[str, Any]:
        return {
            name: value for name, value in self.values.items() if getattr(current, name) != value
        }


@dataclass
class CustomerRecord:
    customer_id: int
    first_name: str
    last_name: str
    email: str
    phone: str | None
    street: str | None
    city: str | None
    postal_code: str | None
    country: str | None
    created_at: int
    last_modified: int
    version: int


@dataclass
class RegisterCustomerInput:
    request_id: str
    details: CustomerDetails
    # Who asked (the API key's name), recorded on the CustomerRegistered event.
    actor: str = UNKNOWN_ACTOR


@dataclass
class UpdateCustomerInput:
    request_id: str
    customer_id: int
    changes: CustomerChanges
    expected_version: int | None = None
    # Who asked (the API key's name), recorded on the CustomerUpdated event.
    actor: str = UNKNOWN_ACTOR


@dataclass
class CustomerOutcome:
    """How a customer request ended: the customer, or a business refusal (not a failure)."""

    customer: CustomerRecord | None = None
    refusal: str | None = None  # DuplicateEmail, CustomerNotFound, VersionMismatch, ...
    detail: str = ""
    # The customer an erasure erased (EraseCustomer's outcome has no customer to show).
    erased: int | None = None


@dataclass
class EraseCustomerInput:
    """Erase Customer: the customer's id and who asked; no personal data."""

    customer_id: int
    actor: str = UNKNOWN_ACTOR
    # When to delete the request histories a second time (see EraseCustomerWorkflow).
    sweep_again_seconds: float = 60.0


@dataclass
class ErasureRecord:
    """What the erasure activity did: the customer's version after it (ids and counts only)."""

    customer_id: int
    version: int
    # The registration request whose workflow history holds the customer's details.
    register_request_id: str | None
    redacted_events: int
    already_erased: bool = False


@dataclass
class SweepHistoriesInput:
    """Delete the Temporal histories of a customer's registration and update requests."""

    customer_id: int
    register_request_id: str | None


@dataclass
class SweepAgainInput:
    """Sweep once more, ``delay_seconds`` after the erasure (SweepCustomerHistories)."""

    sweep: SweepHistoriesInput
    delay_seconds: float


@dataclass
class SweepResult:
    deleted: int
