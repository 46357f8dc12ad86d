"""`orderflow bench soak`, for a few seconds: the option keeps working and says what it must.

A run this short says nothing about leaks or speed: the memory bound is wide open and no
latency is looked at. What it does check is that the whole mix runs against a real stack
without a 5xx, a stuck request or a subscriber missing an event, and that the report has
its parts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ADMIN_URL

ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))
PROCESSES = {"temporal", "orders-worker", "customers-worker", "api"}
KINDS = {
    "create order",
    "command",
    "location update",
    "read order",
    "read order events",
    "register",
    "read customer",
    "read feed",
    "sse connect",
}


@pytest.mark.timeout(420)
def test_a_short_soak_passes_and_reports_every_part(tmp_path: Path) -> None:
    report_file = tmp_path / "soak.json"
    # fmt: off
    command = [
        ORDERFLOW, "bench", "soak",
        "--minutes", "0.3",
        "--warm-up", "5",
        "--orders-per-second", "0.5",
        "--registrations-per-second", "0.5",
        "--burst", "10",
        "--subscribers", "2",
        "--reconnect-every", "6",
        "--sample-seconds", "2",
        "--max-growth-mib", "4096",
        "--postgres-url", POSTGRES_ADMIN_URL,
        "--json", str(report_file),
    ]
    # fmt: on
    result = subprocess.run(
        command,
        cwd=tmp_path,  # away from the project's .env and .data/
        capture_output=True,
        text=True,
        timeout=400,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    report = json.loads(report_file.read_text())
    assert report["passed"] and report["failures"] == [], output
    totals = report["totals"]
    assert totals["5xx"] == 0 and totals["stuck"] == 0 and totals["no_answer"] == 0, output
    # Outcomes are read only after a 202 that a command's answer could not settle.
    assert KINDS <= set(report["kinds"]) <= {*KINDS, "read outcome"}, output
    assert report["orders"]["completed"] >= 1 and report["orders"]["wrong"] == []
    assert [sub["reconnects_itself"] for sub in report["subscribers"]] == [False, True]
    for sub in report["subscribers"]:
        assert sub["events"] > 0 and sub["missed"] == 0 and sub["out_of_order"] == 0, sub
    assert set(report["processes"]) == PROCESSES
    for name, figures in report["processes"].items():
        assert figures["bounded"] == (name != "temporal")
        assert 0 < figures["start_mib"] <= figures["max_mib"], (name, figures)
    assert report["restarts"] == [] and report["processes_gone"] == []
    assert report["machine"]["cores"] and report["machine"]["load_average_max"] is not None
    # The markdown report: the summary, then a table each for kinds, subscribers, memory.
    for heading in (
        "## Soak: 0.3 min of mixed load",
        "| verdict | PASS |",
        "| machine | ",
        "| kind | requests | statuses | 5xx | stuck | p50 ms | p99 ms |",
        "| subscriber | reconnects itself |",
        "| process | start | after warm-up | end | max | growth after warm-up | bound | CPU % |",
    ):
        assert heading in result.stdout, heading
