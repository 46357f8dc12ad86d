"""Customers in the database: the row and its event, always written in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from orderflow.database.outbox import OutboxEvent, append_new, new_event
from orderflow.errors import CustomerNotFound, DuplicateEmail, VersionMismatch
from orderflow.messages import CustomerChangesData, CustomerData
from workflows.customer_types import (
    CustomerChanges,
    CustomerDetails,
    CustomerRecord,
)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    # Emails are unique regardless of case: the lower-cased copy carries the constraint.
    email_key: str = Field(max_length=254, unique=True)
    phone: str | None = Field(default=None, max_length=32)
    street: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_modified: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = 1
    # The registration request that created the row: a retried activity finds it here.
    request_id: str | None = Field(default=None, max_length=255, unique=True)


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def to_record(row: Customer) -> CustomerRecord:
    assert row.id is not None
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


def _customer_event(row: Customer, kind: str, request_id: str, data: dict[str, Any]) -> OutboxEvent:
    assert row.id is not None
    return new_event(
        event_id=_event_id(request_id),
        type=kind,
        source=f"/v1/customers/{row.id}",
        subject=str(row.id),
        data={"customerId": row.id, "version": row.version, **data},
        time=row.last_modified,
    )


def register(engine: Engine, request_id: str, details: CustomerDetails) -> CustomerRecord:
    """Insert the customer and its CustomerRegistered event; a retry returns the first row."""
    with Session(engine) as session:
        existing = session.exec(select(Customer).where(Customer.request_id == request_id)).first()
        if existing is not None:
            return to_record(existing)
        now = datetime.now(UTC)
        row = Customer(
            **details.columns(),
            email_key=details.email.lower(),
            created_at=now,
            last_modified=now,
            request_id=request_id,
        )
        session.add(row)
        try:
            session.flush()  # assigns the id, and finds a duplicate email now
        except IntegrityError:
            session.rollback()
            return _after_conflict(engine, request_id, details.email)
        record = to_record(row)
        append_new(
            session,
            [
                _customer_event(
                    row, "CustomerRegistered", request_id, CustomerData.from_record(record).wire()
                )
            ],
        )
        session.commit()
        return record


def _after_conflict(engine: Engine, request_id: str, email: str) -> CustomerRecord:
    with Session(engine) as session:
        mine = session.exec(select(Customer).where(Customer.request_id == request_id)).first()
        if mine is not None:  # a concurrent attempt of this same request won
            return to_record(mine)
    raise DuplicateEmail.of(email)


def update(
    engine: Engine,
    request_id: str,
    customer_id: int,
    changes: CustomerChanges,
    expected_version: int | None = None,
) -> CustomerRecord:
    """Apply a partial update and its CustomerUpdated event (with the changed fields).

    A retry of a request that was applied returns the customer as it is, unchanged.
    """
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
            row.email_key = str(changed["email"]).lower()
        row.version += 1
        row.last_modified = datetime.now(UTC)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            raise DuplicateEmail.of(str(changed["email"])) from None
        record = to_record(row)
        data = {"changes": CustomerChangesData.from_columns(changed).wire()}
        append_new(session, [_customer_event(row, "CustomerUpdated", request_id, data)])
        session.commit()
        return record


def get(engine: Engine, customer_id: int) -> CustomerRecord | None:
    with Session(engine) as session:
        row = session.get(Customer, customer_id)
        return None if row is None else to_record(row)


def find_by_email(engine: Engine, email: str) -> CustomerRecord | None:
    with Session(engine) as session:
        row = session.exec(select(Customer).where(Customer.email_key == email.lower())).first()
        return None if row is None else to_record(row)


def exists(engine: Engine, customer_id: int) -> bool:
    with Session(engine) as session:
        return (
            session.exec(select(Customer.id).where(Customer.id == customer_id)).first() is not None
        )
