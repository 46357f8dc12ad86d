"""Resident memory of the stack's processes over the soak, sampled every few seconds.

A reading at warm-up's end and at the end is the median of three consecutive samples, so a
momentary peak (a garbage collection about to happen, a burst in flight) does not count as
growth; the maximum is the single highest sample."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass, field

from orderflow.bench.stack import rss_mib

READING_SAMPLES = 3


@dataclass(frozen=True)
class MemoryFigures:
    start: float
    after_warm_up: float
    end: float
    max: float

    @property
    def growth(self) -> float:
        return self.end - self.after_warm_up


@dataclass
class MemorySampler:
    pids: dict[str, int]
    every: float
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # processes that were not there to sample
    machine_load: list[float] = field(default_factory=list)  # 1-minute load average

    def sample(self) -> None:
        reading: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                reading[name] = rss_mib(pid)
            except (OSError, RuntimeError):
                self.gone.add(name)
        self.samples.append((time.monotonic(), reading))
        self.machine_load.append(os.getloadavg()[0])

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                pass
        self.sample()

    def figures(self, warm_up_ends: float) -> dict[str, MemoryFigures]:
        result: dict[str, MemoryFigures] = {}
        for name in self.pids:
            series = [(at, r[name]) for at, r in self.samples if name in r]
            if not series:
                continue
            values = [value for _, value in series]
            after = [value for at, value in series if at >= warm_up_ends] or values[-1:]
            result[name] = MemoryFigures(
                start=values[0],
                after_warm_up=statistics.median(after[:READING_SAMPLES]),
                end=statistics.median(values[-READING_SAMPLES:]),
                max=max(values),
            )
        return result
