"""Real orderflow processes for tests: a worker started through the console script, with
the test's settings in its environment, stopped by its own pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from orderflow.settings import Settings
from tests.helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
# The console script pip installed beside this Python: workers start as `orderflow worker …`.
ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))


def orderflow(*arguments: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """The `orderflow` command as a user runs it, to its end (bounded)."""
    return subprocess.run(
        [ORDERFLOW, *arguments],
        cwd=cwd,  # away from the project's .env and .data/
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def worker_environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "ORDERS_TASK_QUEUE": settings.orders_task_queue,
        "DATABASE_URL": settings.database_url,
        "WORKER_GRACEFUL_SHUTDOWN_SECONDS": "10",
        **encryption_environment(settings),
        **(
            {"WORKER_METRICS_ADDRESS": settings.worker_metrics_address}
            if settings.worker_metrics_address
            else {}
        ),
    }


def encryption_environment(settings: Settings) -> dict[str, str]:
    """ENCRYPTION and the key ring of ``settings``, for a process of the service."""
    keys = settings.encryption_keys
    return {
        "ENCRYPTION": "on" if settings.encryption else "off",
        **({"ENCRYPTION_KEYS": keys.get_secret_value()} if keys is not None else {}),
    }


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, and 30 s to stop; then SIGKILL (never leave a process behind) and fail."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@contextmanager
def worker_process(settings: Settings, *kinds: str) -> Iterator[subprocess.Popen[str]]:
    """A worker process, once it polls. Its output goes to a file: a pipe nobody reads
    fills up and blocks the worker in the middle of its work."""
    with tempfile.NamedTemporaryFile("w+", prefix="worker-", suffix=".log") as log:
        process = subprocess.Popen(
            [ORDERFLOW, "worker", *kinds],
            cwd=ROOT,
            env=worker_environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until(
                lambda: (
                    "worker running" in Path(log.name).read_text() or process.poll() is not None
                ),
                timeout=60,
            )
            assert process.poll() is None, Path(log.name).read_text()
            yield process
        finally:
            if process.poll() is None:
                stop(process)


@dataclass
class ApiProcess:
    """A running `orderflow api`: where it answers, and (once stopped) what it wrote."""

    url: str
    output: str = ""
    returncode: int | None = None


@contextmanager
def api_process(cwd: Path, *arguments: str, **environment: str) -> Iterator[ApiProcess]:
    """`orderflow api ARGUMENTS` on a free port, once it answers /healthz; stopped by SIGTERM
    (its output is then in ``output``, and ``returncode`` in ``process``). The output goes
    to a file: a pipe nobody reads while the API runs fills up and blocks it."""
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="api-", suffix=".log")
    process = subprocess.Popen(
        [ORDERFLOW, "api", *arguments],
        cwd=cwd,
        env={**os.environ, "API_PORT": str(port), **environment},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api = ApiProcess(f"http://127.0.0.1:{port}")
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"{api.url}/healthz").status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, Path(log.name).read_text()
                return False

        wait_until(answers, timeout=30)
        yield api
    finally:
        try:
            stop(process)
        finally:
            api.output = Path(log.name).read_text()
            api.returncode = process.returncode
            log.close()
