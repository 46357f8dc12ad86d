"""The embedded stack for benchmarks: `make run`'s launcher on free ports, in a throw-away
data folder, with the pid of each process so their CPU can be read."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orderflow.cli import command_line
from orderflow.settings import Settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RunningStack:
    settings: Settings
    api: str
    pids: dict[str, int]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@contextmanager
def embedded_stack(database_url: str | None = None) -> Iterator[RunningStack]:
    """Start the embedded stack (SQLite unless ``database_url``), stop it on exit."""
    data = Path(tempfile.mkdtemp(prefix="orderflow-bench-"))
    settings = Settings(
        _env_file=None,
        api_port=free_port(),
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
        data_dir=data,
        database_url=database_url or f"sqlite:///{data}/orderflow.db",
        log_level="WARNING",
    )
    overrides = {
        "API_PORT": str(settings.api_port),
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_UI_PORT": str(settings.temporal_ui_port),
        "DATA_DIR": str(data),
        "DATABASE_URL": settings.database_url,
        "LOG_LEVEL": settings.log_level,
    }
    stack = subprocess.Popen(
        command_line("run"),
        env={**os.environ, **overrides},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stack.stdout is not None
        pids: dict[str, int] = {}
        for line in stack.stdout:
            if found := re.match(r"started ([\w-]+) \(pid (\d+)\)", line):
                pids[found[1]] = int(found[2])
            if line.startswith("orderflow is up"):
                break
        else:
            raise SystemExit("the embedded stack did not start")
        print(f"embedded stack up: {pids} (data in {data}, database {settings.database_url})")
        yield RunningStack(settings, f"http://127.0.0.1:{settings.api_port}", pids)
    finally:
        stack.send_signal(signal.SIGTERM)
        stack.wait(60)
