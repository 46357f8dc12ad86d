"""Customers in the database: the row and its event, always written in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from orderflow.database.columns import ID
from orderflow.database.outbox import OutboxEvent, append_new, new_event
from orderflow.errors import (
    CustomerErased,
    CustomerNotFound,
    DuplicateEmail,
    InvalidCustomerData,
    VersionMismatch,
)
from orderflow.messages import (
    CustomerChangesData,
    CustomerErasedData,
    CustomerRegisteredData,
    erased_event_data,
)
from workflows import customer_fields as fields
from workflows.customer_names import erase_request_id
from workflows.customer_types import (
    ADDRESS_FIELDS,
    CustomerChanges,
    CustomerDetails,
    CustomerRecord,
    ErasureRecord,
)
from workflows.values import UNKNOWN_ACTOR, actor_or_unknown, is_id


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, sa_column=Column(ID, primary_key=True))
    # The personal columns are NULL once the customer is erased (erased_at is set); until
    # then the names and the email are always there.
    first_name: str | None = Field(default=None, max_length=fields.NAME_MAX)
    last_name: str | None = Field(default=None, max_length=fields.NAME_MAX)
    email: str | None = Field(default=None, max_length=fields.EMAIL_MAX)
    # Emails are unique regardless of case: the lower-cased copy carries the constraint.
    email_key: str | None = Field(default=None, max_length=fields.EMAIL_MAX, unique=True)
    phone: str | None = Field(default=None, max_length=fields.PHONE_MAX)
    street: str | None = Field(default=None, max_length=fields.STREET_MAX)
    city: str | None = Field(default=None, max_length=fields.CITY_MAX)
    postal_code: str | None = Field(default=None, max_length=fields.POSTAL_CODE_MAX)
    country: str | None = Field(default=None, max_length=fields.COUNTRY_MAX)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_modified: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = 1
    # The registration request that created the row: a retried activity finds it here.
    request_id: str | None = Field(default=None, max_length=fields.REQUEST_ID_MAX, unique=True)
    erased_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def to_record(row: Customer) -> CustomerRecord:
    """The customer as a record; an erased customer has none, and is CustomerErased."""
    assert row.id is not None
    if row.erased_at is not None:
        raise CustomerErased.of(row.id)
    assert row.first_name is not None and row.last_name is not None and row.email is not None
    return CustomerRecord(
        customer_id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        phone=row.phone,
        street=row.street,
        city=row.city,
        postal_code=row.postal_code,
        country=row.country,
        created_at=_ms(row.created_at),
        last_modified=_ms(row.last_modified),
        version=row.version,
    )


def _event_id(request_id: str) -> str:
    # Deterministic: the same request always names the same event.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"orderflow:customer-request:{request_id}"))


def _customer_event(
    row: Customer, kind: str, request_id: str, actor: str, data: dict[str, Any]
) -> OutboxEvent:
    assert row.id is not None
    return new_event(
        event_id=_event_id(request_id),
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
            select(OutboxEvent.event_id).where(OutboxEvent.event_id == _event_id(request_id))
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


def get(engine: Engine, customer_id: int) -> CustomerRecord | None:
    if not is_id(customer_id):
        return None
    with Session(engine) as session:
        row = session.get(Customer, customer_id)
        return None if row is None else to_record(row)


def find_by_email(engine: Engine, email: str) -> CustomerRecord | None:
    if fields.forbidden_character(email) is not None:
        return None  # no customer has such an email (and PostgreSQL cannot even compare a NUL)
    with Session(engine) as session:
        key = fields.email_key(email)
        row = session.exec(select(Customer).where(Customer.email_key == key)).first()
        return None if row is None else to_record(row)


def exists(engine: Engine, customer_id: int) -> bool:
    """Whether the customer was ever registered (an erased customer still exists)."""
    if not is_id(customer_id):
        return False
    with Session(engine) as session:
        return (
            session.exec(select(Customer.id).where(Customer.id == customer_id)).first() is not None
        )


def is_registered(engine: Engine, customer_id: int) -> bool:
    """Whether the customer is registered and not erased (may place orders)."""
    if not is_id(customer_id):
        return False
    with Session(engine) as session:
        found = session.exec(
            select(Customer.id).where(Customer.id == customer_id, col(Customer.erased_at).is_(None))
        ).first()
        return found is not None


# The published events that carry a customer's personal data, redacted on erasure.
PERSONAL_EVENTS = ("CustomerRegistered", "CustomerUpdated")
_PERSONAL_COLUMNS = ("first_name", "last_name", "email", "email_key", "phone", *ADDRESS_FIELDS)


def erase(engine: Engine, customer_id: int, *, actor: str = UNKNOWN_ACTOR) -> ErasureRecord:
    """Erase the customer's personal data, in one transaction: the row's personal columns
    become NULL (its id, version, times and orders stay), its published events lose the
    personal data they carried, and a CustomerErased event says so (recording ``actor``).

    Erasing an erased customer changes nothing; a retry writes CustomerErased once (its id
    is derived from the customer's). Raises CustomerNotFound.
    """
    if not is_id(customer_id):
        raise CustomerNotFound.of(customer_id)
    with Session(engine) as session:
        row = session.get(Customer, customer_id, with_for_update=True)
        if row is None:
            raise CustomerNotFound.of(customer_id)
        if row.erased_at is not None:
            return ErasureRecord(customer_id, row.version, row.request_id, 0, already_erased=True)
        for name in _PERSONAL_COLUMNS:
            setattr(row, name, None)
        now = datetime.now(UTC)
        row.erased_at = now
        row.last_modified = now
        row.version += 1
        source = f"/v1/customers/{customer_id}"
        published = session.exec(
            select(OutboxEvent).where(
                OutboxEvent.source == source, col(OutboxEvent.type).in_(PERSONAL_EVENTS)
            )
        ).all()
        for event in published:
            event.data = erased_event_data(event.type, event.data)
            session.add(event)
        session.flush()
        actor = actor_or_unknown(actor)
        data = CustomerErasedData(customer_id=customer_id, version=row.version, actor=actor)
        erased = new_event(
            event_id=_event_id(erase_request_id(customer_id)),
            type="CustomerErased",
            source=source,
            subject=str(customer_id),
            data=data.wire(),
            time=now,
        )
        append_new(session, [erased])
        record = ErasureRecord(customer_id, row.version, row.request_id, len(published))
        session.commit()
        return record


def is_erased(engine: Engine, customer_id: int) -> bool:
    if not is_id(customer_id):
        return False
    with Session(engine) as session:
        found = session.exec(
            select(Customer.id).where(
                Customer.id == customer_id, col(Customer.erased_at).is_not(None)
            )
        ).first()
        return found is not None


def registered_erased(engine: Engine, request_id: str) -> int | None:
    """The id of the erased customer that registration ``request_id`` created, if any."""
    with Session(engine) as session:
        return session.exec(
            select(Customer.id).where(
                Customer.request_id == request_id, col(Customer.erased_at).is_not(None)
            )
        ).first()
