"""Open-loop arrivals for the soak: flows started at a steady rate whatever the answers'
speed, with a bound on how many run at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Arrivals:
    """Starts a flow at a steady rate whatever the answers' speed (open loop), keeping at
    most ``limit`` in flight: beyond that an arrival is skipped and counted."""

    name: str
    per_second: float
    limit: int
    running: set[asyncio.Task[None]] = field(default_factory=set)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # the load generator's own faults

    async def run(self, flow: Callable[[], Awaitable[None]], until: float) -> None:
        if self.per_second <= 0:
            return
        next_at = time.monotonic()
        while next_at < until:
            if len(self.running) < self.limit:
                task = asyncio.create_task(self._run(flow), name=self.name)
                self.running.add(task)
                task.add_done_callback(self.running.discard)
            else:
                self.skipped += 1
            next_at += 1 / self.per_second
            # Pacing the arrivals is the point here, not a wait for a condition.
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def drain(self, seconds: float) -> int:
        """Let the flows in flight finish, for at most ``seconds``; how many were cut off."""
        if not self.running:
            return 0
        _, cut = await asyncio.wait(set(self.running), timeout=seconds)
        for task in cut:
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
        return len(cut)

    async def _run(self, flow: Callable[[], Awaitable[None]]) -> None:
        try:
            await flow()
        except Exception as error:  # an answer the load did not expect the shape of
            self.errors.append(f"{self.name}: {error!r}")
