"""Per-order admission: each API process lets an order's commands through at a bounded rate,
so a burst is refused (429 + Retry-After) before anything is recorded, never after."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from orderflow.settings import Settings

# Buckets kept at most: the least recently used goes first. A bucket untouched for
# burst / rate seconds is full again, so dropping it loses nothing; only more orders than
# this commanding within that window in one process would get a fresh burst back early.
MAX_ORDERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class CommandAdmission:
    """A token bucket per order id: ``burst`` commands at once, refilled at ``rate`` a
    second. Not shared between API processes: with N of them an order may get N times
    the rate, which is still bounded."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_orders: int = MAX_ORDERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._max_orders = max_orders
        self._clock = clock
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()
        # Commands (order id, Idempotency-Key) admitted lately, most recent last: a retry of
        # one of these may be answered from its outcome when the bucket is empty; any other
        # refused command costs nothing but the refusal, not even a query.
        self._admitted: OrderedDict[tuple[int, str], None] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> CommandAdmission:
        return cls(settings.order_commands_per_second, settings.order_command_burst)

    def take(self, order_id: int, key: str | None = None) -> int:
        """Admit one command to the order: 0 when admitted (a token is taken, and the
        command's Idempotency-Key ``key`` remembered), else the whole seconds (at least 1)
        until a token is there again, for Retry-After."""
        now = self._clock()
        bucket = self._buckets.pop(order_id, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        else:
            elapsed = max(now - bucket.updated, 0.0)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        self._buckets[order_id] = bucket  # most recently used last
        while len(self._buckets) > self._max_orders:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if key is not None:
                self._admitted[order_id, key] = None
                self._admitted.move_to_end((order_id, key))
                while len(self._admitted) > self._max_orders:
                    self._admitted.popitem(last=False)
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def admitted_before(self, order_id: int, key: str) -> bool:
        """Whether this process admitted a command with this Idempotency-Key lately."""
        return (order_id, key) in self._admitted

    def __len__(self) -> int:
        return len(self._buckets)
