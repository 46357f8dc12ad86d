"""What the order benchmark reports: each phase's rate and latency, its ratio to the bare
baseline, the history events and workflow tasks one command costs, as a markdown table and
a PNG chart of the latency distributions."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orderflow.bench.walks import STEPS, Phase

SAMPLED_HISTORIES = 20
# Which bare phase each orderflow phase is held against.
BASELINES = {
    "HTTP sync": "bare signal+query",
    "SDK sync": "bare signal+query",
    "HTTP 202": "bare signal",
    "idle HTTP sync": "idle bare signal+query",
    "idle HTTP 202": "idle bare signal",
}


async def count_history(client: Client, phase: Phase) -> None:
    """Events and workflow tasks per command, over a sample of the phase's workflows (closed
    by then: measure() waits for them), its publishing and its close included."""
    sample = phase.workflow_ids[:SAMPLED_HISTORIES]
    counts = await asyncio.gather(*(_history_counts(client, wid) for wid in sample))
    commands = len(sample) * len(STEPS)
    phase.events_per_command = sum(events for events, _ in counts) / commands
    phase.tasks_per_command = sum(tasks for _, tasks in counts) / commands


async def _history_counts(client: Client, workflow_id: str) -> tuple[int, int]:
    handle = client.get_workflow_handle(workflow_id)
    events = tasks = 0
    async for event in handle.fetch_history_events():
        events += 1
        tasks += event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    return events, tasks


def table(label: str, phases: Sequence[Phase]) -> str:
    """A markdown table: per phase (medians over rounds), rate, latency, and the ratio to
    its bare baseline."""
    by_name: dict[str, list[Phase]] = {}
    for phase in phases:
        by_name.setdefault(phase.name, []).append(phase)
    rates = {name: statistics.median(p.rate() for p in runs) for name, runs in by_name.items()}
    lines = [
        f"**{label}**",
        "",
        "| phase | commands/s | p50 ms | p99 ms | ratio to bare | events/cmd | tasks/cmd "
        "| 202 followed | CPU % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in by_name.items():
        merged = merge(runs)
        base = BASELINES.get(name)
        ratio = f"{rates[name] / rates[base]:.2f}" if base in rates else "—"
        events = _counted([p.events_per_command for p in runs])
        tasks = _counted([p.tasks_per_command for p in runs])
        cpu = ", ".join(
            f"{process} {share:.0f}" for process, share in runs[-1].cpu.items() if share >= 1
        )
        lines.append(
            f"| {name} | {rates[name]:.0f} | {merged.percentile(0.5):.1f} "
            f"| {merged.percentile(0.99):.1f} | {ratio} | {events} | {tasks} "
            f"| {merged.pending} | {cpu} |"
        )
    return "\n".join(lines)


def _counted(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.1f}" if known else "—"


def merge(runs: Sequence[Phase]) -> Phase:
    """The rounds of one phase as one, for its latency distribution."""
    merged = Phase(runs[0].name)
    for phase in runs:
        for command, values in phase.by_command.items():
            for seconds in values:
                merged.record(command, seconds)
        merged.pending += phase.pending
        merged.seconds += phase.seconds
    return merged


def chart(path: Path, title: str, phases: Sequence[Phase]) -> None:
    """A PNG of each phase's latency distribution (box and whiskers at p1/p99, log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_name: dict[str, list[Phase]] = {}
    for phase in phases:
        by_name.setdefault(phase.name, []).append(phase)
    names = list(reversed(by_name))  # the first phase on top
    data = [[s * 1000 for s in merge(by_name[n]).latencies] for n in names]
    figure, axes = plt.subplots(figsize=(10, 0.6 * len(names) + 1.5))
    axes.boxplot(data, vert=False, whis=(1, 99), showfliers=False)
    axes.set_yticks(range(1, len(names) + 1), names)
    axes.set_xscale("log")
    axes.set_xlabel("latency per command, ms (box: p25-p75, whiskers: p1-p99)")
    axes.set_title(title)
    axes.grid(axis="x", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
