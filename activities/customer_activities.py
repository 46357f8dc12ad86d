"""Customer activities: the database writes behind Register Customer and Update Customer."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from orderflow.database import customer_changes
from orderflow.errors import CustomerRefusal, InvalidCustomerData
from workflows.customer_types import CustomerRecord, RegisterCustomerInput, UpdateCustomerInput


def _refused(refusal: CustomerRefusal) -> ApplicationError:
    return ApplicationError(str(refusal), type=type(refusal).__name__, non_retryable=True)


def is_data_error(error: Exception) -> bool:
    """Whether ``error`` is the data's fault, so the same input fails the same way every
    time: a value the database refuses (DataError: out of range, too long, a NUL), a rule
    of the table other than the unique constraints the store handles (IntegrityError), or
    one the driver cannot even send (OverflowError, UnicodeEncodeError and other
    ValueErrors, a value SQLAlchemy cannot bind). An outage (OperationalError, a lost
    connection) is not: it passes once the database is back."""
    if isinstance(error, DataError | IntegrityError | OverflowError | ValueError):
        return True
    return isinstance(error, StatementError) and not isinstance(error, DBAPIError)


def _invalid(error: Exception) -> ApplicationError:
    # The driver's message quotes the statement's parameters (personal data): name only
    # the kind of refusal, and keep the original out of the failure's causes.
    cause = getattr(error, "orig", None) or error
    kind = type(cause).__name__
    activity.logger.warning("the database refused a customer request's data: %s", kind)
    return _refused(InvalidCustomerData(f"the database cannot store this customer ({kind})"))


class CustomerActivities:
    """Bound to one engine; the worker registers the bound methods.

    Business refusals and data the database can never store become non-retryable
    ApplicationErrors whose ``type`` the workflow and the API understand; anything else
    (the database is down) is retried until it succeeds.

    No database activity takes the SDK's cancellation as an exception raised in its thread
    (``no_thread_cancel_exception``): raised inside the driver between two messages, it
    left a connection idle in a transaction that held the outbox lock from every other
    writer (seen on CI). A cancelled attempt runs to its end instead, bounded by the
    statement timeout, and its writes are idempotent.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="registerCustomer", no_thread_cancel_exception=True)
    def register_customer(self, input: RegisterCustomerInput) -> CustomerRecord:
        return _store(
            lambda: customer_changes.register(
                self._engine, input.request_id, input.details, actor=input.actor
            )
        )

    @activity.defn(name="updateCustomer", no_thread_cancel_exception=True)
    def update_customer(self, input: UpdateCustomerInput) -> CustomerRecord:
        return _store(
            lambda: customer_changes.update(
                self._engine,
                input.request_id,
                input.customer_id,
                input.changes,
                input.expected_version,
                actor=input.actor,
            )
        )


def _store(write: Callable[[], CustomerRecord]) -> CustomerRecord:
    try:
        return write()
    except CustomerRefusal as refusal:
        raise _refused(refusal) from refusal
    except Exception as error:
        if is_data_error(error):
            raise _invalid(error) from None
        raise
