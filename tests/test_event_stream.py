"""The live stream (/v1/events/stream) under churn: subscribers that leave, come back with
Last-Event-ID, stop reading, or outlast the database never hold up one another."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine, make_url

from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.settings import Settings
from tests.helpers import eventually, isolated_settings, running_api
from tests.stream_client import (
    HEARTBEAT,
    TYPES,
    Subscriber,
    has,
    has_beaten,
    publish,
    published,
    stop,
    stream_api,
)
from tests.tcp_proxy import TcpProxy


@pytest.fixture
def engine(own_postgres_url: str) -> Iterator[Engine]:
    engine = create_database_engine(own_postgres_url)
    yield engine
    engine.dispose()


async def test_leaving_right_after_an_event_does_not_stall_the_others(
    settings: Settings, own_postgres_url: str, engine: Engine
) -> None:
    """The reported stall: 20 streams wait, 10 leave right after an event."""
    async with stream_api(settings, own_postgres_url) as http:
        stayers = [Subscriber(http, {"after": 0}) for _ in range(10)]
        staying = [asyncio.create_task(s.run()) for s in stayers]
        try:
            for _ in range(3):
                start = (published(engine) or [0])[-1]
                leavers = [Subscriber(http, {"after": start}) for _ in range(10)]
                leaving = [asyncio.create_task(s.run(leave_after=1)) for s in leavers]
                await asyncio.to_thread(publish, engine, 1)
                await asyncio.wait_for(asyncio.gather(*leaving), timeout=10)
                # The ones that stayed get the next event, and heartbeats meanwhile.
                beats = [s.heartbeats for s in stayers]
                await asyncio.to_thread(publish, engine, 1)
                expected = published(engine)

                async def delivered(
                    expected: list[int] = expected, beats: list[int] = beats
                ) -> None:
                    for stayer, before in zip(stayers, beats, strict=True):
                        assert stayer.positions == expected
                        assert stayer.heartbeats >= before + 2

                await eventually(delivered, timeout=10)
        finally:
            await stop(staying)


async def test_stopping_the_api_ends_open_streams(
    settings: Settings, own_postgres_url: str
) -> None:
    own = isolated_settings(
        settings, database_url=own_postgres_url, stream_heartbeat_seconds=HEARTBEAT
    )
    async with httpx.AsyncClient(timeout=30) as http:
        async with running_api(own) as api:
            http.base_url = api.base_url
            subscribers = [Subscriber(http) for _ in range(20)]
            tasks = [asyncio.create_task(s.run()) for s in subscribers]
            for subscriber in subscribers:
                await eventually(lambda s=subscriber: has_beaten(s, 1), timeout=10)
        # The API has stopped (within its graceful timeout), and the streams have ended.
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    assert all(s.ended for s in subscribers)


async def churn(subscriber: Subscriber, total: int, rng: random.Random) -> None:
    """Leave after a few events and come back with Last-Event-ID, until all are in."""
    await subscriber.run(leave_after=rng.randint(1, 30))
    while len(subscriber.positions) < total:
        await subscriber.run(leave_after=rng.randint(1, 30), resume=True)


async def test_fifty_subscribers_get_every_event_once_in_order_across_reconnects(
    settings: Settings, own_postgres_url: str, engine: Engine
) -> None:
    rng = random.Random(7)
    async with stream_api(settings, own_postgres_url) as http:
        # Every fifth subscriber wants one type only; the first ten leave and come back.
        subscribers = [
            Subscriber(http, {"after": 0, "type": TYPES[0]} if i % 5 == 4 else {"after": 0})
            for i in range(50)
        ]
        wanted = [140 if "type" in s.params else 280 for s in subscribers]
        tasks = [
            asyncio.create_task(churn(s, n, rng) if i < 10 else s.run())
            for i, (s, n) in enumerate(zip(subscribers, wanted, strict=True))
        ]
        try:
            for _ in range(70):  # events flow while subscribers come and go
                await asyncio.to_thread(publish, engine, 4, per_transaction=rng.randint(1, 4))
                await asyncio.sleep(0.01)
            everything, registrations = published(engine), published(engine, TYPES[0])
            assert len(everything) == 280

            async def complete() -> None:
                for subscriber, n in zip(subscribers, wanted, strict=True):
                    assert len(subscriber.positions) >= n

            await eventually(complete, timeout=30)
            for subscriber in subscribers:
                expected = registrations if "type" in subscriber.params else everything
                assert subscriber.positions == expected  # each once, in order, no gap
        finally:
            await stop(tasks)


async def test_a_reader_that_stops_reading_is_closed_and_holds_up_nobody(
    settings: Settings, own_postgres_url: str, engine: Engine
) -> None:
    async with stream_api(settings, own_postgres_url, stream_queue_size=10) as http:
        readers = [Subscriber(http, {"after": 0}) for _ in range(5)]
        reading = [asyncio.create_task(r.run()) for r in readers]
        try:
            async with (
                httpx.AsyncClient(base_url=http.base_url) as slow_http,
                slow_http.stream("GET", "/v1/events/stream", params={"after": 0}) as slow,
            ):
                assert slow.status_code == 200
                await asyncio.to_thread(publish, engine, 200, per_transaction=2, padding=32_000)
                everything = published(engine)

                async def all_read() -> None:
                    for reader in readers:
                        assert reader.positions == everything

                await eventually(all_read, timeout=30)
                # Now it reads: what it got is a gap-free start, then the hint, then the end.
                stalled = Subscriber(http, {"after": 0})
                await asyncio.wait_for(stalled.read(slow), timeout=20)
            assert stalled.ended and stalled.retries == [1000, 1000]
            assert 0 < len(stalled.positions) < len(everything)
            assert stalled.positions == everything[: len(stalled.positions)]
            # Reconnecting with Last-Event-ID, it gets the rest from the database.
            await stalled.run(leave_after=len(everything) - len(stalled.positions), resume=True)
            assert stalled.positions == everything
        finally:
            await stop(reading)


@pytest.mark.parametrize("outage", ["cut", "hang"])
async def test_streams_keep_their_heartbeat_while_the_database_is_away(
    settings: Settings, own_postgres_url: str, engine: Engine, outage: str
) -> None:
    real = make_url(own_postgres_url)
    async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        through_proxy = real.set(host="127.0.0.1", port=proxy.port)
        async with stream_api(
            settings,
            through_proxy.render_as_string(hide_password=False),
            database_call_timeout_seconds=1,
            stream_poll_seconds=0.1,
        ) as http:
            await asyncio.to_thread(publish, engine, 2)
            before = Subscriber(http, {"after": 0})
            tasks = [asyncio.create_task(before.run())]
            try:
                await eventually(lambda: has(before, 2), timeout=10)
                await (proxy.cut() if outage == "cut" else proxy.black_hole())
                # One already there, one arriving (catching up from the start): both beat.
                during = Subscriber(http, {"after": 0})
                tasks.append(asyncio.create_task(during.run()))
                await asyncio.to_thread(publish, engine, 3)  # straight in, not via the API
                beats = before.heartbeats
                await eventually(lambda: has_beaten(during, 6), timeout=10)  # past the 1 s bound
                await eventually(lambda: has_beaten(before, beats + 3), timeout=10)
                await proxy.restore()
                everything = published(engine)
                await eventually(lambda: has(before, 5, everything), timeout=20)
                await eventually(lambda: has(during, 5, everything), timeout=20)
            finally:
                await stop(tasks)


async def test_on_sqlite_the_broadcaster_polls(settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orderflow.db'}"
    engine = create_database_engine(url)
    upgrade(engine)
    async with stream_api(settings, url) as http:
        everyone, registrations = Subscriber(http), Subscriber(http, {"type": TYPES[0]})
        tasks = [asyncio.create_task(s.run()) for s in (everyone, registrations)]
        try:
            await eventually(lambda: has_beaten(everyone, 1), timeout=10)  # it is live now
            await asyncio.to_thread(publish, engine, 10, per_transaction=3)
            await eventually(lambda: has(everyone, 10, published(engine)), timeout=10)
            await eventually(lambda: has(registrations, 5, published(engine, TYPES[0])))
        finally:
            await stop(tasks)
    engine.dispose()
