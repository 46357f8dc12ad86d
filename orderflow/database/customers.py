"""Customers in the database: the table and its reads. A customer's row and its event are
always written in one transaction: customer_changes.py (register, update) and
customer_erasure.py (erase)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from orderflow.database.columns import ID
from orderflow.errors import (
    CustomerErased,
)
from workflows import customer_fields as fields
from workflows.customer_types import (
    CustomerRecord,
)
from workflows.values import is_id


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


def request_event_id(request_id: str) -> str:
    """The id of the event request ``request_id`` writes: the same request always names the
    same event, so a retry finds what it wrote."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"orderflow:customer-request:{request_id}"))


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
