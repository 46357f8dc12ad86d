"""Customer activities: the database writes behind Register Customer and Update Customer."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from orderflow.database import customers as customer_store
from orderflow.errors import CustomerRefusal
from workflows.customer_types import CustomerRecord, RegisterCustomerInput, UpdateCustomerInput


def _refused(refusal: CustomerRefusal) -> ApplicationError:
    return ApplicationError(str(refusal), type=type(refusal).__name__, non_retryable=True)


class CustomerActivities:
    """Bound to one engine; the worker registers the bound methods.

    Business refusals become non-retryable ApplicationErrors whose ``type`` the workflow
    and the API understand; anything else (the database is down) is retried.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="registerCustomer")
    def register_customer(self, input: RegisterCustomerInput) -> CustomerRecord:
        try:
            return customer_store.register(self._engine, input.request_id, input.details)
        except CustomerRefusal as refusal:
            raise _refused(refusal) from refusal

    @activity.defn(name="updateCustomer")
    def update_customer(self, input: UpdateCustomerInput) -> CustomerRecord:
        try:
            return customer_store.update(
                self._engine,
                input.request_id,
                input.customer_id,
                input.changes,
                input.expected_version,
            )
        except CustomerRefusal as refusal:
            raise _refused(refusal) from refusal
