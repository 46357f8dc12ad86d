"""The README's first command: the whole stack starts, answers, stops cleanly, and keeps orders."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from tests.helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def make_run(env: dict[str, str], stop_signal: int) -> Iterator[tuple[str, list[int]]]:
    """Run `make run` as a user would; on exit, send ``stop_signal`` to its process group
    (SIGINT is what Ctrl-C sends) and wait for everything to stop."""
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    up = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("orderflow is up"):
                up.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert up.wait(90), "".join(lines)
        pids = [int(p) for p in re.findall(r"^started [\w-]+ \(pid (\d+)\)", "".join(lines), re.M)]
        assert len(pids) == 4, "".join(lines)
        yield "".join(lines), pids
    finally:
        os.killpg(process.pid, stop_signal)
        assert process.wait(60) is not None
        reader.join(10)
    assert "stopped" in "".join(lines), "".join(lines)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}/status").exists()
        and "zombie" not in Path(f"/proc/{pid}/status").read_text()
    )


def orderflow_arguments(pid: int) -> list[str]:
    """The `orderflow` subcommand a child of the stack runs (started as `python -m orderflow`)."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    assert command[1:3] == ["-m", "orderflow"], command
    return command[3:]


def retention_days(address: str) -> float:
    async def describe() -> float:
        client = await Client.connect(address)
        request = DescribeNamespaceRequest(namespace="default")
        described = await client.workflow_service.describe_namespace(request)
        return described.config.workflow_execution_retention_ttl.ToTimedelta().days

    return asyncio.run(describe())


def test_make_run_starts_the_stack_keeps_orders_and_stops(tmp_path: Path) -> None:
    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "API_PORT": str(api_port),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "TEMPORAL_UI_PORT": str(ui_port),
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/data/orderflow.db",
    }
    api = f"http://127.0.0.1:{api_port}"
    with make_run(env, signal.SIGINT) as (output, pids):
        assert f"{api}/docs" in output and f"http://localhost:{ui_port}" in output
        # One way to start each process: the children are the CLI's own subcommands.
        started = {name: int(pid) for name, pid in re.findall(r"^started ([\w-]+) \(pid (\d+)\)", output, re.M)}  # fmt: skip
        assert orderflow_arguments(started["orders-worker"]) == ["worker", "orders"]
        assert orderflow_arguments(started["customers-worker"]) == ["worker", "customers"]
        assert orderflow_arguments(started["api"])[0] == "api"
        assert httpx.get(f"{api}/docs").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ui_port}/").status_code == 200
        ada = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}
        customer = httpx.post(f"{api}/v1/customers", json=ada, timeout=30)
        assert customer.status_code == 201 and customer.json()["customerId"] == 1
        created = httpx.post(f"{api}/v1/orders", json={"accountId": 1})
        assert created.status_code == 201 and created.json()["orderId"] == 1
        order = created.json()
        assigned = httpx.put(f"{api}/v1/orders/1/commands/assignOrder?restaurantId=101")
        assert assigned.status_code == 200
        assert (
            f"http://localhost:{ui_port}/namespaces/default/workflows/order-1/"
            in (order["_links"]["history"]["href"])
        )
        assert retention_days(f"127.0.0.1:{temporal_port}") == 30
    assert not [pid for pid in pids if alive(pid)]
    assert (tmp_path / "data" / "temporal.db").exists()

    # Started again (stopped by SIGTERM this time), the order is still there and still runs.
    with make_run(env, signal.SIGTERM):
        read = httpx.get(f"{api}/v1/orders/1", timeout=30)
        assert read.status_code == 200 and read.json()["status"] == "ORDER_ASSIGNED"
        prepared = httpx.put(f"{api}/v1/orders/1/commands/prepareOrder", timeout=30)
        assert prepared.status_code == 200 and prepared.json()["status"] == "ORDER_PREPARING"
        assert httpx.get(f"{api}/v1/customers/1").json()["email"] == "ada@example.com"
        second = httpx.post(f"{api}/v1/orders", json={"accountId": 1})
        assert second.json()["orderId"] == 2

        def both_listed() -> bool:
            body = httpx.get(f"{api}/v1/orders?accountId=1").json()
            return sorted(o["orderId"] for o in body["_embedded"]["orders"]) == [1, 2]

        wait_until(both_listed)
