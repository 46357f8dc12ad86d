"""in_database bounds every call: the server cancels a long statement, the client gives up
on a silent database and breaks the connections it gave up on, waiting for a pooled
connection is bounded, and SQLite calls are bounded too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from temporalio.activity import _Definition

from activities.customer_activities import CustomerActivities
from activities.customer_erasure import CustomerErasureActivities
from activities.order_activities import OrderActivities
from orderflow.database.calls import in_database
from orderflow.database.engine import DatabaseTimeouts, create_database_engine
from orderflow.database.outbox import OUTBOX_LOCK
from orderflow.errors import DatabaseUnavailable
from tests.helpers import wait_until
from tests.tcp_proxy import TcpProxy

# The defaults of the settings, with the client's bound shortened where a test waits for it.
DEFAULTS = DatabaseTimeouts(connect=2, statement=2.0, pool=2.0, call=3.0)
# Hang checks, not benchmarks: generous against the bounds they check.
MARGIN = 2.0


def select_one(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT 1")).scalar_one())


def show(engine: Engine, parameter: str) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text(f"SHOW {parameter}")).scalar_one())


def pg_sleep(engine: Engine, seconds: float) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})


def count_forever(engine: Engine) -> None:
    with engine.connect() as connection:
        endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
        connection.execute(text(endless + "SELECT count(*) FROM n"))


@contextmanager
def engine_for(url: str, timeouts: DatabaseTimeouts = DEFAULTS) -> Iterator[Engine]:
    engine = create_database_engine(url, timeouts)
    try:
        yield engine
    finally:
        engine.dispose()


async def refused_within(seconds: float, call: asyncio.Future[object]) -> float:
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        await call
    elapsed = time.monotonic() - started
    assert elapsed < seconds, f"answered in {elapsed:.2f} s"
    return elapsed


async def test_the_server_cancels_a_statement_that_runs_too_long(postgres_url: str) -> None:
    # A client bound far above the statement's: the server's cancel is what answers.
    with engine_for(postgres_url, DatabaseTimeouts(2, statement=1.0, pool=2.0, call=30)) as engine:
        assert await in_database(show, engine, "statement_timeout") == "1s"
        elapsed = await refused_within(
            1 + MARGIN, asyncio.ensure_future(in_database(pg_sleep, engine, 30))
        )
        assert elapsed >= 1
        assert await in_database(select_one, engine) == 1  # the connection is fine


async def test_options_of_the_url_are_kept(postgres_url: str) -> None:
    url = make_url(postgres_url).update_query_dict({"options": "-c lock_timeout=1234"})
    with engine_for(url.render_as_string(hide_password=False)) as engine:
        assert await in_database(show, engine, "lock_timeout") == "1234ms"
        assert await in_database(show, engine, "statement_timeout") == "2s"


def test_a_stalled_transaction_cannot_hold_the_outbox_lock(postgres_url: str) -> None:
    """A writer that stops between statements (its process paused, its network gone quiet)
    while it holds the outbox's write lock: the server ends its session, so the other
    writers go on."""
    timeouts = DatabaseTimeouts(2, statement=0.5, pool=2.0, call=0.5)
    with engine_for(postgres_url, timeouts) as stalled, engine_for(postgres_url) as other:
        assert show(stalled, "idle_in_transaction_session_timeout") == "5s"
        with stalled.connect() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK})

            def lock_free() -> bool:
                with other.connect() as free:
                    taken = text("SELECT pg_try_advisory_xact_lock(:key)")
                    return bool(free.execute(taken, {"key": OUTBOX_LOCK}).scalar_one())

            assert not lock_free()
            wait_until(lock_free, timeout=10)
            with pytest.raises(DBAPIError, match="idle-in-transaction timeout") as ended:
                connection.execute(text("SELECT 1"))  # its session was ended
            assert ended.value.connection_invalidated  # a call from the API answers 503


@pytest.mark.parametrize("pooled", [True, False], ids=["pooled", "new"])
async def test_a_silent_database_is_given_up_on_and_its_connections_freed(
    postgres_url: str, pooled: bool
) -> None:
    real = make_url(postgres_url)
    async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        through = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with engine_for(through, DatabaseTimeouts(2, statement=2.0, pool=2.0, call=1.0)) as engine:
            if pooled:
                await asyncio.gather(*(in_database(select_one, engine) for _ in range(5)))
            await proxy.black_hole()
            # More calls than the pool has connections (10 + 20 overflow).
            calls = [in_database(select_one, engine) for _ in range(36)]
            started = time.monotonic()
            answers = await asyncio.gather(*calls, return_exceptions=True)
            elapsed = time.monotonic() - started
            assert all(isinstance(answer, DatabaseUnavailable) for answer in answers), answers
            assert elapsed < 1 + MARGIN, f"answered in {elapsed:.2f} s"
            # Still silent, and no connection is left with a thread waiting on it.
            wait_until(lambda: engine.pool.checkedout() == 0, timeout=10)  # type: ignore[attr-defined]

            await proxy.restore()
            assert await in_database(select_one, engine) == 1


async def test_waiting_for_a_pooled_connection_is_bounded(postgres_url: str) -> None:
    with (
        engine_for(postgres_url, DatabaseTimeouts(2, statement=2.0, pool=0.5, call=30)) as engine,
        ExitStack() as busy,
    ):
        for _ in range(30):  # the pool's 10 and its 20 overflow
            busy.enter_context(engine.connect())
        await refused_within(0.5 + MARGIN, asyncio.ensure_future(in_database(select_one, engine)))
        busy.close()
        assert await in_database(select_one, engine) == 1


async def test_a_sqlite_call_is_bounded_and_interrupted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bounded.db"
    with engine_for(url, DatabaseTimeouts(2, statement=2.0, pool=2.0, call=0.5)) as engine:
        await refused_within(
            0.5 + MARGIN, asyncio.ensure_future(in_database(count_forever, engine))
        )
        # Interrupted, not left counting in its thread.
        wait_until(lambda: engine.pool.checkedout() == 0, timeout=5)  # type: ignore[attr-defined]
        assert await in_database(select_one, engine) == 1


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


async def test_a_pooled_connection_the_server_closed_is_replaced(postgres_url: str) -> None:
    with engine_for(postgres_url) as engine, engine_for(postgres_url) as admin:
        pid = await in_database(backend_pid, engine)
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # The ping on checkout finds it dead; the call gets a new connection, not an error.
        assert await in_database(backend_pid, engine) != pid


def test_no_database_activity_is_interrupted_by_a_cancellation() -> None:
    """The SDK cancels a threaded activity by raising in its thread, wherever it is: inside
    the driver, between the outbox's NOTIFY and COMMIT on CI, it left the session idle in
    its transaction with the outbox lock held. Activities that use the database opt out."""
    database_activities = [
        OrderActivities.publish_order_events,
        CustomerActivities.register_customer,
        CustomerActivities.update_customer,
        CustomerErasureActivities.erase_customer,
    ]
    for method in database_activities:
        definition = _Definition.must_from_callable(method)
        assert definition.no_thread_cancel_exception, definition.name
