"""The soak's HTTP client: every request bounded by the client's timeout (a request that
reaches it is *stuck*), every answer counted by kind and status, and a few samples kept of
each kind of fault."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import aiohttp

SAMPLES_PER_KIND = 2  # of each kind of request and what went wrong with it


@dataclass
class KindStats:
    """What one kind of request was answered."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    stuck: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # no answer at all, by error
    unexpected: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.stuck + sum(self.failures.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile_ms(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


@dataclass
class CountingClient:
    """Requests over one aiohttp session, each timed and counted by kind."""

    session: aiohttp.ClientSession
    api: str
    stuck_after: float
    _: KW_ONLY
    kinds: dict[str, KindStats] = field(default_factory=dict)
    # 5xx, unexpected answers, no answers: a few of each, so a rare one is not crowded out.
    samples: list[str] = field(default_factory=list)
    sampled: Counter[str] = field(default_factory=Counter, repr=False)

    def stats(self, kind: str) -> KindStats:
        return self.kinds.setdefault(kind, KindStats())

    def keep_sample(self, what: str, text: str) -> None:
        """Keep ``text`` unless enough of ``what`` (a kind and its fault) are kept."""
        self.sampled[what] += 1
        if self.sampled[what] <= SAMPLES_PER_KIND:
            self.samples.append(text)

    async def call(
        self,
        kind: str,
        method: str,
        url: str,
        *,
        expect: set[int],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer | None:
        """One request, timed and counted; None if it got no answer (stuck or failed)."""
        stats = self.stats(kind)
        timeout = aiohttp.ClientTimeout(total=self.stuck_after)
        started = time.perf_counter()
        try:
            async with self.session.request(
                method, url, params=params, json=json, headers=headers, timeout=timeout
            ) as response:
                raw = await response.read()
                status = response.status
                is_json = "json" in response.headers.get("Content-Type", "")
        except TimeoutError:
            stats.stuck += 1
            self.keep_sample(
                f"{kind} stuck", f"{kind}: {method} {url} no answer within {self.stuck_after:g}s"
            )
            return None
        except aiohttp.ClientError as error:
            stats.failures[type(error).__name__] += 1
            self.keep_sample(f"{kind} failed", f"{kind}: {method} {url} failed: {error!r}")
            return None
        stats.latencies.append(time.perf_counter() - started)
        stats.statuses[status] += 1
        if status not in expect:
            stats.unexpected += status < 500
            text = raw[:300].decode(errors="replace")
            self.keep_sample(f"{kind} {status}", f"{kind}: {method} {url} -> {status} {text}")
        return Answer(status, _json_or_none(raw) if is_json else None)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
