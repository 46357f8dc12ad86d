"""The transactional outbox: every published domain event, in commit order.

A row is written in the same transaction as the change it reports; ``position`` is the
feed's cursor. ``event_id`` is unique and derived from what caused the event, so a retried
activity or a replayed workflow writes the same event once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import JSON, Column, DateTime, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from orderflow.database.columns import ID


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"

    position: int | None = Field(default=None, sa_column=Column(ID, primary_key=True))
    event_id: str = Field(max_length=120, unique=True)
    type: str = Field(max_length=100, index=True)
    version: str = Field(max_length=20)
    source: str = Field(max_length=200, index=True)
    subject: str = Field(max_length=100)
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


def new_event(
    *,
    event_id: str,
    type: str,
    source: str,
    subject: str,
    data: dict[str, Any],
    version: str = "1.0.0",
    time: datetime | None = None,
) -> OutboxEvent:
    return OutboxEvent(
        event_id=event_id,
        type=type,
        version=version,
        source=source,
        subject=subject,
        time=time or datetime.now(UTC),
        data=data,
    )


_TABLE = OutboxEvent.__table__  # type: ignore[attr-defined]
_COLUMNS = ("event_id", "type", "version", "source", "subject", "time", "data")
# Any 64-bit number, the same in every process: the key of the outbox's write lock.
OUTBOX_LOCK = 0x6F7574626F78
# PostgreSQL announces on this channel every commit that appends events (payload: the
# newest position), so live streams learn of them without polling.
NOTIFY_CHANNEL = "orderflow_outbox"


def append_new(session: Session, events: Sequence[OutboxEvent]) -> int:
    """Add the events whose ids are not in the outbox yet (in the caller's transaction).

    On PostgreSQL the writers take a transaction-scoped lock first, so positions are
    handed out in commit order: a reader of ``after=N`` can never miss an event that
    commits late with a smaller position. (SQLite has a single writer anyway.)
    """
    if not events:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK})
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{name: getattr(event, name) for name in _COLUMNS} for event in events]
    # One statement; an event already there (a retry, a replay) is skipped by its id.
    statement = insert(_TABLE).values(rows).on_conflict_do_nothing(index_elements=["event_id"])
    # Without preserve_rowcount, SQLAlchemy 2.1 reports -1 for this INSERT on psycopg.
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    if dialect == "postgresql":
        # Delivered at commit, in commit order; under the lock, max() is this writer's last.
        # (Sent even when every event was there already: a listener ignores what it knows.)
        session.execute(
            text("SELECT pg_notify(:channel, (SELECT max(position) FROM outbox_event)::text)"),
            {"channel": NOTIFY_CHANNEL},
        )
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def read_after(
    engine: Engine, after: int, limit: int, types: Sequence[str] = (), up_to: int | None = None
) -> list[OutboxEvent]:
    """Events past position ``after`` (and up to ``up_to``), oldest first, optionally of
    the given types."""
    query = select(OutboxEvent).where(col(OutboxEvent.position) > after)
    if up_to is not None:
        query = query.where(col(OutboxEvent.position) <= up_to)
    if types:
        query = query.where(col(OutboxEvent.type).in_(types))
    with Session(engine) as session:
        return list(session.exec(query.order_by(col(OutboxEvent.position)).limit(limit)))


def read_subject(
    engine: Engine, source: str, offset: int, limit: int
) -> tuple[list[OutboxEvent], int]:
    """One page of the events of one source (a customer or an order), and how many it has."""
    with Session(engine) as session:
        base = select(OutboxEvent).where(OutboxEvent.source == source)
        total = session.exec(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.source == source)
        ).one()
        rows = session.exec(base.order_by(col(OutboxEvent.position)).offset(offset).limit(limit))
        return list(rows), int(total)


def read_one(engine: Engine, event_id: str) -> OutboxEvent | None:
    with Session(engine) as session:
        return session.exec(select(OutboxEvent).where(OutboxEvent.event_id == event_id)).first()


def newest_position(engine: Engine) -> int:
    """The position of the newest event (0 when there is none)."""
    with Session(engine) as session:
        return int(session.exec(select(func.max(OutboxEvent.position))).one() or 0)


async def announced_positions(engine: Engine, *, timeout: float) -> AsyncGenerator[int, None]:
    """The newest position as PostgreSQL announces it: once when listening starts, then
    after every commit that appends events.

    A dedicated connection LISTENs on ``NOTIFY_CHANNEL``. Each step that leaves the process
    is bounded by ``timeout``; after ``timeout`` seconds without a notification the
    connection is checked with a round trip, so a dead one raises (``psycopg.Error`` or
    ``TimeoutError``) instead of falling silent. Close the iterator to close the connection.
    """
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncio.wait_for(
        psycopg.AsyncConnection.connect(
            url, autocommit=True, connect_timeout=max(2, round(timeout))
        ),
        timeout,
    )
    try:
        await asyncio.wait_for(connection.execute(f"LISTEN {NOTIFY_CHANNEL}"), timeout)
        # Read after LISTEN: a commit in between is announced, or counted here, or both.
        newest = await asyncio.wait_for(
            connection.execute("SELECT coalesce(max(position), 0) FROM outbox_event"), timeout
        )
        row = await newest.fetchone()
        yield int(row[0]) if row else 0
        while True:
            async for notification in connection.notifies(timeout=timeout):
                yield int(notification.payload or 0)
            await asyncio.wait_for(connection.execute("SELECT 1"), timeout)
    finally:
        await connection.close()
