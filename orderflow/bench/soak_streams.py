"""The soak's live subscribers: each follows ``/v1/events/stream`` for the whole run, some
leave and come back with ``Last-Event-ID`` now and then, and every one resumes that way when
the server ends its stream. At the end each must have received every event the feed holds
from its first one on, once and in order, and never have waited long for the next event."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import aiohttp

from orderflow.bench.soak_load import Load


@dataclass
class Subscriber:
    name: str
    reconnect_every: float | None  # seconds between voluntary reconnections, or never
    positions: list[int] = field(default_factory=list)
    connections: int = 0
    server_ends: int = 0  # the server ended the stream (fell behind, shutting down)
    broken: int = 0  # the connection broke mid-stream
    stalls: int = 0  # nothing at all (not even a heartbeat) for the stuck bound
    out_of_order: int = 0  # a position not above the previous one: duplicate or reordered
    longest_silence: float = 0.0  # longest wait for any line, heartbeats included
    longest_event_gap: float = 0.0  # longest wait for the next event while load ran
    missed: int = 0  # filled in by the final check against the feed

    @property
    def last(self) -> int:
        return self.positions[-1] if self.positions else -1


@dataclass
class Streams:
    load: Load
    subscribers: list[Subscriber]
    load_running: bool = True
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, sub: Subscriber) -> None:
        """Keep ``sub`` subscribed until :attr:`stop`."""
        load = self.load
        stats = load.stats("sse connect")
        url = f"{load.api}/v1/events/stream"
        # The stream itself never ends: only its opening and its silences are bounded.
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=load.stuck_after, sock_read=load.stuck_after
        )
        last_event_at = time.monotonic()
        while not self.stop.is_set():
            headers = {"Last-Event-ID": str(sub.last)} if sub.positions else {}
            started = time.perf_counter()
            try:
                response = await load.session.get(url, headers=headers, timeout=timeout)
            except TimeoutError:
                stats.stuck += 1
                load.keep_sample(
                    "sse stuck", f"sse connect: {sub.name} no answer in {load.stuck_after:g}s"
                )
                continue
            except aiohttp.ClientError as error:
                stats.failures[type(error).__name__] += 1
                load.keep_sample("sse failed", f"sse connect: {sub.name} failed: {error!r}")
                await asyncio.sleep(1)  # the API is not there: do not spin
                continue
            stats.latencies.append(time.perf_counter() - started)
            stats.statuses[response.status] += 1
            try:
                if response.status != 200:
                    stats.unexpected += response.status < 500
                    text = (await response.read())[:300].decode(errors="replace")
                    load.keep_sample(
                        f"sse {response.status}",
                        f"sse connect: {sub.name} -> {response.status} {text}",
                    )
                    await asyncio.sleep(1)
                    continue
                sub.connections += 1
                leave_at = (
                    time.monotonic() + sub.reconnect_every * random.uniform(0.5, 1.5)
                    if sub.reconnect_every
                    else None
                )
                last_event_at = await self._read(sub, response, leave_at, last_event_at)
            except TimeoutError:
                sub.stalls += 1
                load.keep_sample(
                    "sse stall", f"sse: {sub.name} got nothing for {load.stuck_after:g}s"
                )
            except aiohttp.ClientError as error:
                sub.broken += 1
                load.keep_sample("sse broken", f"sse: {sub.name} stream broke: {error!r}")
            finally:
                response.close()

    async def _read(
        self,
        sub: Subscriber,
        response: aiohttp.ClientResponse,
        leave_at: float | None,
        last_event_at: float,
    ) -> float:
        """Read frames until the client leaves or the server ends the stream; the moment
        of the last event."""
        position: int | None = None
        last_line_at = time.monotonic()
        async for raw in response.content:
            now = time.monotonic()
            sub.longest_silence = max(sub.longest_silence, now - last_line_at)
            last_line_at = now
            line = raw.decode().rstrip("\r\n")
            if line.startswith("id: "):
                position = int(line[4:])
            elif not line and position is not None:  # the end of an event's frame
                if self.load_running:
                    sub.longest_event_gap = max(sub.longest_event_gap, now - last_event_at)
                last_event_at = now
                sub.out_of_order += position <= sub.last
                sub.positions.append(position)
                position = None
            if self.stop.is_set() or (leave_at is not None and now > leave_at):
                return last_event_at
        sub.server_ends += 1
        return last_event_at


async def feed_positions(load: Load, after: int) -> list[int]:
    """Every position the feed holds after ``after``, read page by page."""
    positions: list[int] = []
    while True:
        page = await load.call(
            "read feed",
            "GET",
            f"{load.api}/v1/events",
            params={"after": str(after), "limit": "500"},
            expect={200},
        )
        if page is None or page.status != 200:
            raise RuntimeError("the feed could not be read to check the subscribers")
        events = page.body["_embedded"]["events"]
        if not events:
            return positions
        positions += [int(event["sequence"]) for event in events]
        after = positions[-1]


async def settle(streams: Streams, seconds: float) -> list[int]:
    """Once the load has stopped: the feed from the subscribers' first event on, after
    every subscriber has caught up with its end (or ``seconds`` have passed)."""
    firsts = [sub.positions[0] for sub in streams.subscribers if sub.positions]
    start = min(firsts) - 1 if firsts else 0
    deadline = time.monotonic() + seconds
    while True:
        feed = await feed_positions(streams.load, start)
        end = feed[-1] if feed else start
        caught_up = all(sub.last >= end for sub in streams.subscribers)
        if caught_up or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return feed


def check_against_feed(sub: Subscriber, feed: list[int]) -> None:
    """How many of the feed's events from ``sub``'s first one on it never received."""
    if not sub.positions:
        sub.missed = len(feed)
        return
    seen = set(sub.positions)
    sub.missed = sum(1 for p in feed if p >= sub.positions[0] and p not in seen)
