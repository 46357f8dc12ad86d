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
from orderflow.embedded import KEY_FILE
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


def service_environment(settings: Settings) -> dict[str, str]:
    """The environment of a process of the benchmark's stack: its address, database and
    payload encryption (the stack's own key file, or none)."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("ENCRYPTION")
    }
    encryption: dict[str, str] = {"ENCRYPTION": "on" if settings.encryption else "off"}
    if settings.encryption and settings.encryption_keys_file is not None:
        encryption["ENCRYPTION_KEYS_FILE"] = str(settings.encryption_keys_file)
    return {
        **environment,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "DATABASE_URL": settings.database_url,
        "LOG_LEVEL": settings.log_level,
        **encryption,
    }


@contextmanager
def embedded_stack(
    database_url: str | None = None, *, encryption: bool = True
) -> Iterator[RunningStack]:
    """Start the embedded stack (SQLite unless ``database_url``; payloads encrypted with
    keys it makes itself, unless not ``encryption``), stop it on exit."""
    data = Path(tempfile.mkdtemp(prefix="orderflow-bench-"))
    settings = Settings(
        _env_file=None,
        api_port=free_port(),
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
        data_dir=data,
        database_url=database_url or f"sqlite:///{data}/orderflow.db",
        log_level="WARNING",
        encryption=encryption,
        encryption_keys=None,
        # Made by the stack on its start, before any client of the benchmark connects.
        encryption_keys_file=(data / KEY_FILE).resolve() if encryption else None,
    )
    overrides = {
        "API_PORT": str(settings.api_port),
        "TEMPORAL_UI_PORT": str(settings.temporal_ui_port),
        "DATA_DIR": str(data),
    }
    environment = service_environment(settings)
    environment.pop("ENCRYPTION_KEYS_FILE", None)  # the stack makes it
    stack = subprocess.Popen(
        command_line("run"),
        env={**environment, **overrides},
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
