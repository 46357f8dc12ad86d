"""The project's database layer: one engine factory for SQLite (embedded) and PostgreSQL,
with every step of a call bounded, and the connections of a call that a caller gave up on
broken so that nothing waits on them forever (held.py)."""

from __future__ import annotations

import math
import sqlite3
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

from orderflow.database import held

if TYPE_CHECKING:
    from orderflow.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 5_000
# Keepalive probes notice a peer that vanished while we wait for its answer; with
# tcp_user_timeout set, an unanswered probe closes the connection after that long.
KEEPALIVE_INTERVAL_SECONDS = 1
# The longest a transaction may sit idle between two statements (at least the call bound).
IDLE_IN_TRANSACTION_MS = 5_000
KEEPALIVE_PROBES = 3


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long each step of a database call may take, in seconds."""

    connect: int
    statement: float
    pool: float
    call: float

    @classmethod
    def for_workers(cls, settings: Settings) -> DatabaseTimeouts:
        """A worker's: statements may wait as long as ``worker_database_statement_timeout``."""
        return replace(
            cls.from_settings(settings),
            statement=settings.worker_database_statement_timeout_seconds,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DatabaseTimeouts:
        return cls(
            connect=settings.database_connect_timeout_seconds,
            statement=settings.database_statement_timeout_seconds,
            pool=settings.database_pool_timeout_seconds,
            call=settings.database_call_timeout_seconds,
        )


_timeouts: weakref.WeakKeyDictionary[Engine, DatabaseTimeouts] = weakref.WeakKeyDictionary()


def create_database_engine(url: str, timeouts: DatabaseTimeouts | None = None) -> Engine:
    """An engine for ``url`` whose calls are bounded by ``timeouts`` (by default, those of the
    settings); a SQLite file gets its folder, WAL and a busy timeout. Its errors never quote
    a statement's parameters (customers' personal data) in messages or logs.

    >>> create_database_engine("sqlite:///.data/orderflow.db")  # doctest: +SKIP
    """
    if timeouts is None:
        from orderflow.settings import get_settings

        timeouts = DatabaseTimeouts.from_settings(get_settings())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _tune_sqlite)
    else:
        engine = create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_timeout=timeouts.pool,
            connect_args=_postgres_limits(parsed.query.get("options"), timeouts),
            hide_parameters=True,
        )
        event.listen(engine, "connect", held.mark_fresh)
    # In this order: a call holds its connection before the ping, so a ping that hangs can
    # be broken too.
    event.listen(engine, "checkout", held.hold)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", held.ping)
    for released in ("checkin", "close", "detach", "invalidate"):
        event.listen(engine, released, held.let_go)
    _timeouts[engine] = timeouts
    return engine


def timeouts_of(engine: Engine) -> DatabaseTimeouts:
    """The bounds ``engine`` was made with (the settings' for an engine made elsewhere)."""
    found = _timeouts.get(engine)
    if found is None:
        from orderflow.settings import get_settings

        found = DatabaseTimeouts.from_settings(get_settings())
    return found


def _postgres_limits(options: str | tuple[str, ...] | None, timeouts: DatabaseTimeouts) -> Any:
    """libpq parameters: the server cancels a long statement; the client gives up on a
    connection that does not open, and on a peer that stops acknowledging (a statement
    timeout cannot help when its answer never arrives)."""
    given = " ".join((options,) if isinstance(options, str) else options or ())
    statement_ms = max(1, round(timeouts.statement * 1000))
    # A transaction left open by a client that stalled (or whose network did) would keep
    # its locks, the outbox's write lock among them, from every other writer: the server
    # ends the session instead. None of ours waits between its statements, so a few
    # seconds idle means a stalled client (seen on CI: one holding the outbox lock for 30 s).
    idle_ms = max(IDLE_IN_TRANSACTION_MS, round(timeouts.call * 1000))
    limits = f"-c statement_timeout={statement_ms} -c idle_in_transaction_session_timeout={idle_ms}"
    return {
        "connect_timeout": timeouts.connect,
        # Appended to any options of the URL: the last -c of a parameter wins.
        "options": f"{given} {limits}".strip(),
        "tcp_user_timeout": max(1, round(timeouts.call * 1000)),
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(timeouts.call)),
        "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
        "keepalives_count": KEEPALIVE_PROBES,
    }


def _tune_sqlite(connection: sqlite3.Connection, _record: Any) -> None:
    # WAL lets API replicas read while one writes; the timeout makes writers queue, not fail.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
