"""The embedded stack for benchmarks: `make run`'s launcher on free ports, in a throw-away
data folder (and, if asked, a throw-away PostgreSQL database), with the pid of each process
so their CPU and memory can be read."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg

from orderflow.cli import command_line
from orderflow.embedded import KEY_FILE
from orderflow.settings import Settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# The launcher gives each of its four children up to 15 s to stop.
STOP_SECONDS = 90
# How long the benchmarks' HTTP clients keep an idle connection: less than the API's
# keep-alive (uvicorn's 5 s). aiohttp's own 15 s lets a client reuse a connection just as
# the API closes it, and the request fails with "Server disconnected" (seen between phases
# at 200 concurrent orders).
CLIENT_KEEPALIVE_SECONDS = 4.0


def http_connector(limit: int) -> aiohttp.TCPConnector:
    """The connection pool of a benchmark's HTTP client (``limit`` 0: no limit)."""
    return aiohttp.TCPConnector(limit=limit, keepalive_timeout=CLIENT_KEEPALIVE_SECONDS)


@dataclass(frozen=True)
class RunningStack:
    settings: Settings
    api: str
    pids: dict[str, int]
    # What the launcher (and its children) printed once the stack was up, e.g. restarts.
    output: list[str] = field(default_factory=list)

    def restarts(self) -> list[str]:
        """The launcher's lines about a child that exited while the stack ran."""
        return [line for line in self.output if " exited with " in line]


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


def rss_mib(pid: int) -> float:
    """The process's resident memory (VmRSS) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@contextmanager
def throwaway_postgres(admin_url: str = POSTGRES_ADMIN) -> Iterator[str]:
    """A new database on the PostgreSQL server of ``admin_url``, dropped afterwards."""
    name = f"orderflow_bench_{uuid.uuid4().hex[:8]}"
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    keys it makes itself, unless not ``encryption``); on exit, stop it and remove its data
    folder."""
    data = Path(tempfile.mkdtemp(prefix="orderflow-bench-"))
    settings = Settings(
        _env_file=None,
        api_port=free_port(),
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
        temporal_metrics_port=free_port(),
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
        "TEMPORAL_METRICS_PORT": str(settings.temporal_metrics_port),
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
    pids: dict[str, int] = {}
    try:
        assert stack.stdout is not None
        for line in stack.stdout:
            if found := re.match(r"started ([\w-]+) \(pid (\d+)\)", line):
                pids[found[1]] = int(found[2])
            if line.startswith("orderflow is up"):
                break
        else:
            raise SystemExit("the embedded stack did not start")
        print(f"embedded stack up: {pids} (data in {data}, database {settings.database_url})")
        running = RunningStack(settings, f"http://127.0.0.1:{settings.api_port}", pids)
        # The children write to the same pipe: read it to its end, or a full pipe blocks them.
        threading.Thread(target=_collect, args=(stack.stdout, running.output), daemon=True).start()
        yield running
    finally:
        stop(stack, pids)
        shutil.rmtree(data, ignore_errors=True)


def stop(launcher: subprocess.Popen[str], children: dict[str, int]) -> None:
    """SIGTERM to the launcher, which stops its children (each within its grace period);
    if it does not finish in time, SIGKILL to it and to each child by its pid."""
    launcher.send_signal(signal.SIGTERM)
    try:
        launcher.wait(STOP_SECONDS)
        return
    except subprocess.TimeoutExpired:
        print(f"the embedded stack did not stop in {STOP_SECONDS} s: killing it", flush=True)
    launcher.kill()
    launcher.wait()
    for pid in children.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # stopped already


def _collect(lines: Iterator[str], into: list[str]) -> None:
    for line in lines:
        into.append(line.rstrip("\n"))


@contextmanager
def extra_workers(stack: RunningStack, count: int) -> Iterator[list[int]]:
    """``count`` more `orderflow worker orders` processes on the stack's server and task queue."""
    environment = service_environment(stack.settings)
    processes = [
        subprocess.Popen(command_line("worker", "orders"), env=environment) for _ in range(count)
    ]
    try:
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
