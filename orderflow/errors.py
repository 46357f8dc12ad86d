"""What can go wrong below the HTTP layer, as domain errors.

Services, stores and activities raise these; only the HTTP kit (``api/http/problems.py``)
decides which status and problem type each one becomes. Messages carry ids, statuses and
counts, never personal data.
"""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """Something a caller can act on; ``detail`` says what, in one sentence."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# Not found.


class NotFound(DomainError):
    """The thing asked for does not exist (or never did)."""


class OrderNotFound(NotFound):
    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} does not exist")
        self.order_id = order_id


class EventNotFound(NotFound):
    def __init__(self, order_id: int, event_id: int) -> None:
        super().__init__(f"order {order_id} has no event {event_id}")


class UnknownCommand(NotFound):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"there is no command {name!r}; commands are: {', '.join(known)}")


class CommandNotFound(NotFound):
    def __init__(self, order_id: int, command_id: str) -> None:
        super().__init__(
            f"order {order_id} has no outcome for command {command_id!r} "
            "(never recorded, or older than the outcomes an order remembers)"
        )


class CustomerRequestNotFound(NotFound):
    def __init__(self, request_id: str) -> None:
        super().__init__(f"there is no customer request {request_id}")


# Refusals: the request was understood and is not allowed now.


class CustomerRefusal(DomainError):
    """A customer request the database refuses: retrying cannot help. The class name is
    the refusal's type, carried by the activity's non-retryable failure; the API rebuilds
    the error from that type and the detail."""


class CustomerNotFound(CustomerRefusal, NotFound):
    @classmethod
    def of(cls, customer_id: int) -> CustomerNotFound:
        return cls(f"customer {customer_id} does not exist")


class DuplicateEmail(CustomerRefusal):
    @classmethod
    def of(cls) -> DuplicateEmail:
        # Not the email itself: the message travels through Temporal and the worker's logs,
        # and the client knows which email it sent.
        return cls("a customer with this email is already registered")


class VersionMismatch(CustomerRefusal):
    @classmethod
    def of(cls, customer_id: int, expected: int, actual: int) -> VersionMismatch:
        return cls(f"customer {customer_id} is at version {actual}, not {expected}")


class CustomerErased(CustomerRefusal):
    """The customer was erased: its id stays (its orders refer to it), its data is gone."""

    @classmethod
    def of(cls, customer_id: int) -> CustomerErased:
        return cls(f"customer {customer_id} was erased")


# The refusal types a customer workflow reports (ApplicationError types), by name.
CUSTOMER_REFUSALS: dict[str, type[CustomerRefusal]] = {
    kind.__name__: kind
    for kind in (DuplicateEmail, CustomerNotFound, VersionMismatch, CustomerErased)
}


class CommandRefused(DomainError):
    """The order's workflow refused a command in its current status."""

    def __init__(self, detail: str, *, status: str, allowed: Sequence[str]) -> None:
        super().__init__(detail)
        self.status = status
        self.allowed = list(allowed)


class OrderClosed(CommandRefused):
    def __init__(self, order_id: int, status: str, detail: str | None = None) -> None:
        detail = detail or f"order {order_id} is closed ({status})"
        super().__init__(detail, status=status, allowed=())


class EventLogFull(CommandRefused):
    """The order keeps as many events as it can: only status-moving commands still apply."""


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key was first used for a different request."""


class TooManyCommands(DomainError):
    """An order's commands arrive faster than it accepts them: nothing was recorded, a
    retry after ``retry_after`` seconds will be admitted."""

    def __init__(self, order_id: int, retry_after: int, *, why: str | None = None) -> None:
        why = why or "receives commands faster than it accepts them"
        super().__init__(
            f"order {order_id} {why}; nothing was recorded, retry after {retry_after} s"
        )
        self.retry_after = retry_after


# Access: who is asking, and whether they may.


class Unauthenticated(DomainError):
    """No API key, or one the service does not know."""

    def __init__(self) -> None:
        super().__init__("a valid API key is required (X-API-Key, or Authorization: Bearer)")


class ScopeMissing(DomainError):
    """A known key without any of the scopes the operation needs."""

    def __init__(self, key: str, scopes: Sequence[str]) -> None:
        needed = " or ".join(scopes)
        super().__init__(f"API key {key!r} lacks the scope {needed} this operation needs")
        self.scopes = list(scopes)


# Invalid input.


class InvalidInput(DomainError):
    """Parameters that can never be valid: each named, with the reason."""

    def __init__(self, errors: Sequence[tuple[str, str]], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{name} {reason}" for name, reason in errors))
        self.errors = list(errors)


class BadPageToken(InvalidInput):
    def __init__(self) -> None:
        super().__init__([("page", "is not a token from a next link")])


class InvalidCustomerData(CustomerRefusal, InvalidInput):
    """Data the database can never store (a value outside its domain, or one a rule of the
    table refuses): retrying cannot help, so the request fails. The detail names the field
    or the kind of refusal, never the value."""

    def __init__(self, detail: str) -> None:
        InvalidInput.__init__(self, [("body", detail)], detail)


# The failures a customer workflow ends with (its activity's non-retryable ApplicationError
# types), by name: unlike the refusals above, they are not outcomes but reasons it failed.
CUSTOMER_FAILURES: dict[str, type[CustomerRefusal]] = {
    kind.__name__: kind for kind in (InvalidCustomerData,)
}


# Unavailable: nothing was done, a retry later may succeed.


class Unavailable(DomainError):
    """A dependency did not answer; ``retry_after`` seconds is a fair wait."""

    retry_after = 5

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        if retry_after is not None:
            self.retry_after = retry_after


class TemporalUnavailable(Unavailable):
    """Temporal could not be reached; ``may_have_arrived`` when the connection broke under
    the call rather than never being there (a signal may have been recorded)."""

    def __init__(self, *, may_have_arrived: bool = False) -> None:
        super().__init__("Temporal is unreachable; retry later")
        self.may_have_arrived = may_have_arrived


class TemporalTimeout(Unavailable):
    def __init__(self) -> None:
        super().__init__("Temporal did not answer in time; retry later")


class WorkflowUnanswered(Unavailable):
    def __init__(self) -> None:
        super().__init__("the order workflow could not answer; retry later")


class CommandNotRecorded(Unavailable):
    """The command certainly did not reach its order: Temporal was unreachable, or did not
    answer in time and then confirmed the order has not recorded it."""

    def __init__(self, *, unreachable: bool) -> None:
        why = "Temporal is unreachable" if unreachable else "Temporal did not answer in time"
        super().__init__(f"{why}; the command was not recorded, retry later")


class OrderIdsOutOfStep(Unavailable):
    """The order database is behind Temporal (restored or reset?): an operator must act."""

    def __init__(self) -> None:
        super().__init__(
            "order ids are out of step with Temporal; an operator must fix it", retry_after=60
        )


class DatabaseUnavailable(Unavailable):
    def __init__(self) -> None:
        super().__init__("the database is unreachable; retry later")


class CustomerRequestFailed(DomainError):
    """A customer request's workflow failed (a bug, not a refusal)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"customer request {request_id} failed")
