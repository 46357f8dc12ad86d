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
    refusal: str | None = None  # DuplicateEmail, CustomerNotFound or VersionMismatch
    detail: str = ""
