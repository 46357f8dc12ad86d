"""Order ids: positive integers handed out by the database, unique across API replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from orderflow.database.columns import ID
from orderflow.errors import IdempotencyKeyReused
from workflows.values import is_id


class OrderNumber(SQLModel, table=True):
    """One row per order id; the optional idempotency key makes a retried create reuse it."""

    __tablename__ = "order_number"

    id: int | None = Field(default=None, sa_column=Column(ID, primary_key=True))
    account_id: int = Field(sa_column=Column(ID, nullable=False))
    idempotency_key: str | None = Field(default=None, unique=True, max_length=255)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Allocation:
    order_id: int
    new: bool  # False when an earlier request with the same idempotency key allocated it


def allocate_order_id(
    engine: Engine, account_id: int, idempotency_key: str | None = None
) -> Allocation:
    """A new order id, or the one first allocated for ``idempotency_key``.

    Raises IdempotencyKeyReused when the key was used for another account.
    """
    if idempotency_key is not None:
        existing = _find_by_key(engine, idempotency_key)
        if existing is not None:
            return Allocation(_same_request(existing, account_id), new=False)
    try:
        with Session(engine) as session:
            row = OrderNumber(account_id=account_id, idempotency_key=idempotency_key)
            session.add(row)
            session.commit()
            assert row.id is not None
            return Allocation(row.id, new=True)
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer as it did.
        assert idempotency_key is not None
        existing = _find_by_key(engine, idempotency_key)
        if existing is None:
            raise
        return Allocation(_same_request(existing, account_id), new=False)


def _find_by_key(engine: Engine, key: str) -> OrderNumber | None:
    with Session(engine) as session:
        return session.exec(select(OrderNumber).where(OrderNumber.idempotency_key == key)).first()


def _same_request(row: OrderNumber, account_id: int) -> int:
    assert row.id is not None
    if row.account_id != account_id:
        raise IdempotencyKeyReused(
            f"Idempotency-Key was first used to create order {row.id} for account {row.account_id}"
        )
    return row.id


def account_of(engine: Engine, order_id: int) -> int | None:
    """The account an order id was allocated for, if the id was ever handed out."""
    if not is_id(order_id):
        return None  # never handed out (and not a number the database could compare)
    with Session(engine) as session:
        row = session.get(OrderNumber, order_id)
        return None if row is None else row.account_id
