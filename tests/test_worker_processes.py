"""Worker processes: several share a task queue; one stopped with SIGTERM mid-lifecycle
finishes what it holds and leaves, and every order still completes. Bad settings give one
clear line at start-up, not a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orderflow.settings import Settings
from tests.helpers import (
    WALK,
    command_applied,
    create_order,
    free_port,
    isolated_settings,
    register_customer,
    running_api,
)
from tests.processes import ORDERFLOW, ROOT, worker_environment, worker_process
from workflows.order_names import order_workflow_id


async def test_a_worker_stopped_mid_lifecycle_loses_no_order(
    client: Client, settings: Settings, http: httpx.AsyncClient
) -> None:
    account = (await register_customer(http))["customerId"]
    own = isolated_settings(settings)
    with worker_process(own, "orders") as first, worker_process(own, "orders") as second:
        async with running_api(own) as api:
            orders = [await create_order(api, account) for _ in range(16)]

            async def walk(
                order: dict[str, object], steps: list[tuple[str, dict[str, int], str]]
            ) -> None:
                for name, params, status in steps:
                    # 200, or 202 while the order moves to the other worker: never a 503.
                    assert (await command_applied(api, order, name, **params))["status"] == status

            await asyncio.gather(*(walk(o, WALK[:3]) for o in orders))
            first.send_signal(signal.SIGTERM)
            remaining = asyncio.gather(*(walk(o, WALK[3:]) for o in orders))
            assert await asyncio.to_thread(first.wait, 30) == 0  # stopped gracefully
            await remaining
            assert second.poll() is None

            for order in orders:
                final = (await api.get(order["_links"]["self"]["href"])).json()  # type: ignore[index]
                assert final["status"] == "ORDER_DELIVERED" and final["driverId"] == 7

    identities: set[str] = set()
    for order in orders:
        handle = client.get_workflow_handle(order_workflow_id(order["orderId"]))  # type: ignore[arg-type]
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                identities.add(event.workflow_task_started_event_attributes.identity.split("@")[0])
    assert {str(first.pid), str(second.pid)} <= identities


def test_an_unreachable_temporal_is_one_clear_line(settings: Settings) -> None:
    dead = isolated_settings(settings, temporal_address=f"127.0.0.1:{free_port()}")
    result = subprocess.run(
        [ORDERFLOW, "worker", "orders"],
        cwd=ROOT,
        env=worker_environment(dead),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and f"cannot reach Temporal at {dead.temporal_address}" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_settings_are_one_line_each_and_exit_2() -> None:
    environment = {**os.environ, "WORKER_MAX_CACHED_WORKFLOWS": "-3", "API_PORT": "eighty"}
    for program in (
        [ORDERFLOW, "worker", "orders"],
        [ORDERFLOW, "api"],
        [ORDERFLOW, "run"],
        [ORDERFLOW, "migrate"],
        [sys.executable, "worker.py", "orders"],  # the old entry point still works
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--port",
            "0",
            "--no-server-header",
        ],
    ):
        result = subprocess.run(
            program, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, (program, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert sorted(lines) == [
            "orderflow: invalid setting API_PORT: Input should be a valid integer, unable to parse string as an integer",
            "orderflow: invalid setting WORKER_MAX_CACHED_WORKFLOWS: Input should be greater than or equal to 0",
        ], (program, result.stderr)
