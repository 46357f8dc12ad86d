"""`orderflow bench orders`, as small as it goes: every phase runs against a real stack and
its bare baseline, and the report has each row, its history counts and its chart; the probe
tells the server's hops from the server's metrics.

Nothing here looks at a speed: a run this small says nothing about one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))
PHASES = [
    "HTTP sync",
    "HTTP 202",
    "SDK sync",
    "bare signal+query",
    "bare signal",
    "idle HTTP sync",
    "idle HTTP 202",
    "idle bare signal+query",
    "idle bare signal",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(300)
def test_a_tiny_bench_reports_every_phase_against_the_bare_baseline(tmp_path: Path) -> None:
    report = tmp_path / "report"
    command = [ORDERFLOW, "bench", "orders", "--orders", "3", "--rounds", "1"]
    command += ["--idle-orders", "1", "--report", str(report), "--probe"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = (report / "report.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.count("|") > 5}
    for phase in PHASES:
        cells = [cell.strip() for cell in rows[phase].split("|")[1:-1]]
        rate, p50, p99, ratio, events, tasks = cells[1:7]
        assert float(rate) > 0 and float(p50) > 0 and float(p99) >= float(p50), rows[phase]
        # Every command is at least its signal, and its walk at least one workflow task.
        assert float(events) >= 1 and float(tasks) > 0, rows[phase]
        held = not phase.endswith(("bare signal+query", "bare signal"))
        assert re.fullmatch(r"\d+\.\d\d", ratio) if held else ratio == "—", rows[phase]
    assert (report / "latency-encrypted.png").read_bytes().startswith(PNG_SIGNATURE)
    # The probe tells the server's hops from its own metrics: the signal's RPC for every way,
    # the query's where there is one.
    probed = done.stdout.split("The server's hops, ")[1:]
    assert [part.split(" (")[0] for part in probed] == [
        "signal alone",
        "signal, then query at once",
        "signal, then query 100 ms later",
    ], done.stdout[-3000:]
    for part in probed:
        hops = re.findall(
            r"^\| RPC (\w+) \| service_latency \| frontend \| ([\d.]+) \|", part, re.M
        )
        per_command = dict(hops)
        assert float(per_command["SignalWorkflowExecution"]) == 1.0, part
        assert ("QueryWorkflow" in per_command) == ("query" in part.split("\n")[0]), part
