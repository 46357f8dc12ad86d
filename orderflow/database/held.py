"""The connections one database call holds, so that a caller that gives up on the call (in
another thread) can break them: the engine's pool events (engine.py) record each checkout
against the call running in the thread, and release it on check-in."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
from types import TracebackType
from typing import Any

from sqlalchemy.exc import DisconnectionError


class HeldConnections:
    """The connections one call holds, for whoever waits on the call in another thread.

    The call runs inside ``with held:``; ``abandon()`` (from any thread) breaks what it
    holds and whatever it checks out later: a thread blocked on a socket that will never
    answer fails at once, and the pool gets its connection back, invalidated.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        self._finished = False
        self.abandoned = False

    def __enter__(self) -> HeldConnections:
        if self.abandoned:
            raise TimeoutError("the caller gave up before the call started")
        _current.held = self
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.held = None
        with self._lock:
            self._finished = True
            self._connections.clear()

    def abandon(self) -> None:
        """Break the call's connections, unless it has finished."""
        with self._lock:
            if self._finished:
                return
            self.abandoned = True
            for connection in self._connections:
                _break(connection)

    def add(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            if self.abandoned:
                _break(connection)

    def discard(self, connection: Any) -> None:
        # Under the lock: a connection is closed only after this returns, so abandon()
        # never shuts down a socket number that a new connection has reused.
        with self._lock:
            self._connections.discard(connection)


_current = threading.local()
_HELD_BY = "orderflow_held_by"
_FRESH = "orderflow_fresh"


def _current_held() -> HeldConnections | None:
    held: HeldConnections | None = getattr(_current, "held", None)
    return held


def hold(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    held = _current_held()
    if held is not None:
        record.info[_HELD_BY] = held
        held.add(dbapi_connection)


def let_go(dbapi_connection: Any, record: Any, *_: Any) -> None:
    held: HeldConnections | None = record.info.pop(_HELD_BY, None) if record else None
    if held is not None:
        held.discard(dbapi_connection)


def mark_fresh(_dbapi_connection: Any, record: Any) -> None:
    record.info[_FRESH] = True


def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """The pool's pre-ping, as a checkout listener that runs after ``hold``: the pool's own
    runs before any listener, where a ping into a silent database could not be broken."""
    if record.info.pop(_FRESH, False):
        return  # just connected: nothing can have gone stale
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except Exception as error:
        held = _current_held()
        if held is not None and held.abandoned:
            raise  # given up on: no fresh connection for a call nobody waits for
        raise DisconnectionError("the pooled connection failed its ping") from error


def _break(connection: Any) -> None:
    """Make a call blocked on ``connection`` fail now (from any thread)."""
    with contextlib.suppress(Exception):
        if isinstance(connection, sqlite3.Connection):
            connection.interrupt()
            return
        # The driver cannot be told to stop waiting, but its socket can: shutting it down
        # wakes the blocked read (end of file), and the pool invalidates the connection.
        duplicate = socket.socket(fileno=os.dup(connection.pgconn.socket))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()
