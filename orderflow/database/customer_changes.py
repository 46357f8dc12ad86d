"""Registering and updating a customer: the row and its event (CustomerRegistered,
CustomerUpdated) in one transaction, each retry of a request answered with what it wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from orderflow.database.customers import Customer, request_event_id, to_record
from orderflow.database.outbox import OutboxEvent, append_new, new_event
from orderflow.errors import CustomerNotFound, DuplicateEmail, InvalidCustomerData, VersionMismatch
from orderflow.messages import CustomerChangesData, CustomerRegisteredData
from workflows import customer_fields as fields
from workflows.customer_types import CustomerChanges, CustomerDetails, CustomerRecord
from workflows.values import UNKNOWN_ACTOR, actor_or_unknown, is_id


def _customer_event(
    row: Customer, kind: str, request_id: str, actor: str, data: dict[str, Any]
) -> OutboxEvent:
    assert row.id is not None
    return new_event(
        event_id=request_event_id(request_id),
        type=kind,
        source=f"/v1/customers/{row.id}",
        subject=str(row.id),
        data={"customerId": row.id, "version": row.version, **data, "actor": actor},
        time=row.last_modified,
    )


def _refuse_unstorable(columns: dict[str, Any]) -> None:
    """Raise InvalidCustomerData for a value outside its field's domain.

    The API validates the same domain; this holds it for any other caller, and on SQLite,
    which would store an over-long text or a NUL without complaint. The detail names the
    column, never the value.
    """
    for name, value in columns.items():
        if not isinstance(value, str):
            continue
        if fields.forbidden_character(value) is not None:
            raise InvalidCustomerData(f"{name} holds a control character")
        longest = fields.MAX_LENGTH.get(name)
        if longest is not None and len(value) > longest:
            raise InvalidCustomerData(f"{name} is longer than {longest} characters")
    email = columns.get("email")
    if isinstance(email, str) and len(fields.email_key(email)) > fields.EMAIL_MAX:
        raise InvalidCustomerData(
            f"email is longer than {fields.EMAIL_MAX} characters once lower-cased"
        )


def _violates_unique(error: IntegrityError, column: str) -> bool:
    """Whether ``error`` is the unique constraint on ``column`` (not another rule)."""
    cause = error.orig
    diagnostic = getattr(cause, "diag", None)  # psycopg
    if diagnostic is not None:
        constraint = diagnostic.constraint_name or ""
        return getattr(cause, "sqlstate", None) == "23505" and column in constraint
    return f"UNIQUE constraint failed: customer.{column}" in str(cause)  # sqlite3


def register(
    engine: Engine, request_id: str, details: CustomerDetails, *, actor: str = UNKNOWN_ACTOR
) -> CustomerRecord:
    """Insert the customer and its CustomerRegistered event (recording ``actor``, who asked);
    a retry returns the first row.

    Raises DuplicateEmail, or InvalidCustomerData for details outside their domain.
    """
    _refuse_unstorable(details.columns())
    if len(request_id) > fields.REQUEST_ID_MAX:
        raise InvalidCustomerData(
            f"the request id is longer than {fields.REQUEST_ID_MAX} characters"
        )
    with Session(engine) as session:
        existing = session.exec(select(Customer).where(Customer.request_id == request_id)).first()
        if existing is not None:
            return to_record(existing)
        now = datetime.now(UTC)
        row = Customer(
            **details.columns(),
            email_key=fields.email_key(details.email),
            created_at=now,
            last_modified=now,
            request_id=request_id,
        )
        session.add(row)
        try:
            session.flush()  # assigns the id, and finds a duplicate email now
        except IntegrityError as error:
            session.rollback()
            if not (_violates_unique(error, "email_key") or _violates_unique(error, "request_id")):
                raise  # another rule of the table: the activity reports it as a data error
            return _after_conflict(engine, request_id)
        record = to_record(row)
        actor = actor_or_unknown(actor)
        data = CustomerRegisteredData.of(record, actor).wire()
        append_new(session, [_customer_event(row, "CustomerRegistered", request_id, actor, data)])
        session.commit()
        return record


def _after_conflict(engine: Engine, request_id: str) -> CustomerRecord:
    with Session(engine) as session:
        mine = session.exec(select(Customer).where(Customer.request_id == request_id)).first()
        if mine is not None:  # a concurrent attempt of this same request won
            return to_record(mine)
    raise DuplicateEmail.of()


def update(
    engine: Engine,
    request_id: str,
    customer_id: int,
    changes: CustomerChanges,
    expected_version: int | None = None,
    *,
    actor: str = UNKNOWN_ACTOR,
) -> CustomerRecord:
    """Apply a partial update and its CustomerUpdated event (with the changed fields and
    ``actor``, who asked).

    A retry of a request that was applied returns the customer as it is, unchanged. An id
    outside 1..2**63-1 names no customer (and is not asked of the database).
    """
    if not is_id(customer_id):
        raise CustomerNotFound.of(customer_id)
    _refuse_unstorable(changes.values)
    with Session(engine) as session:
        row = session.get(Customer, customer_id, with_for_update=True)
        if row is None:
            raise CustomerNotFound.of(customer_id)
        already = session.exec(
            select(OutboxEvent.event_id).where(OutboxEvent.event_id == request_event_id(request_id))
        ).first()
        if already is not None:
            return to_record(row)
        if expected_version is not None and row.version != expected_version:
            raise VersionMismatch.of(customer_id, expected_version, row.version)
        changed = changes.differences(to_record(row))
        if not changed:
            return to_record(row)
        for name, value in changed.items():
            setattr(row, name, value)
        if "email" in changed:
            row.email_key = fields.email_key(str(changed["email"]))
        row.version += 1
        row.last_modified = datetime.now(UTC)
        try:
            session.flush()
        except IntegrityError as error:
            session.rollback()
            if "email" in changed and _violates_unique(error, "email_key"):
                raise DuplicateEmail.of() from None
            raise  # another rule of the table: the activity reports it as a data error
        record = to_record(row)
        data = {"changes": CustomerChangesData.from_columns(changed).wire()}
        event = _customer_event(row, "CustomerUpdated", request_id, actor_or_unknown(actor), data)
        append_new(session, [event])
        session.commit()
        return record
