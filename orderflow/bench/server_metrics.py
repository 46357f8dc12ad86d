"""Where the server spends a command's time, from its own Prometheus metrics: read them
before and after a run of commands, and tell each hop's count and mean latency.

Each histogram of the dev server (``service_latency`` per RPC and service, ``task_latency_*``
per history task) has a ``_sum`` and a ``_count`` per set of labels; what a run added to
both gives the mean of that run's hops, with nothing else running on the server.
"""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass

# Histograms worth telling per hop, and what each measures (the server's executable tasks:
# task_latency_queue runs from the task's creation to its acknowledgement, so it holds the
# other two and the scheduler's wait between them).
HISTOGRAMS = {
    "service_latency": "RPC",
    "task_latency_load": "task created -> loaded",
    "task_latency_processing": "task processed",
    "task_latency_queue": "task created -> done",
}
# Long polls measure how long a poller waited for work, not the work: left out.
WAITING = {"PollWorkflowTaskQueue", "PollActivityTaskQueue", "PollWorkflowExecutionHistory"}
_SAMPLE = re.compile(r"^(\w+)_(sum|count)\{([^}]*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Hop:
    metric: str
    service: str
    operation: str


Totals = dict[Hop, tuple[float, float]]  # seconds in total, how many


def scrape(url: str, namespace: str = "default") -> Totals:
    """The server's histogram totals for ``namespace``, per hop."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    totals: dict[Hop, list[float]] = {}
    for line in text.splitlines():
        found = _SAMPLE.match(line)
        if found is None or found[1] not in HISTOGRAMS:
            continue
        labels = dict(_LABEL.findall(found[3]))
        operation = labels.get("task_type") or labels.get("operation", "")
        if labels.get("namespace") != namespace or operation in WAITING:
            continue
        hop = Hop(found[1], labels.get("service_name", ""), operation)
        pair = totals.setdefault(hop, [0.0, 0.0])
        pair[0 if found[2] == "sum" else 1] += float(found[4])
    return {hop: (pair[0], pair[1]) for hop, pair in totals.items()}


def hops(before: Totals, after: Totals, commands: int) -> list[tuple[Hop, float, float]]:
    """Each hop the run added, as (hop, times per command, mean ms), slowest in total first;
    hops that happened less than once per ten commands are left out."""
    rows = []
    for hop, (seconds, count) in after.items():
        seconds -= before.get(hop, (0.0, 0.0))[0]
        count -= before.get(hop, (0.0, 0.0))[1]
        if count * 10 >= commands > 0:
            rows.append((hop, count / commands, seconds / count * 1000))
    return sorted(rows, key=lambda row: -row[1] * row[2])


def markdown(rows: list[tuple[Hop, float, float]], most: int = 12) -> str:
    lines = [
        "| server hop | metric | service | per command | mean ms |",
        "|---|---|---|---|---|",
        *(
            f"| {HISTOGRAMS[hop.metric]} {hop.operation} | {hop.metric} | {hop.service} "
            f"| {per:.2f} | {mean:.2f} |"
            for hop, per, mean in rows[:most]
        ),
    ]
    return "\n".join(lines)
