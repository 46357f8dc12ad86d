"""Structured logs: JSON lines carrying the order, workflow and command ids; workflow logging
is silent on replay."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orderflow.telemetry import JsonLogFormatter
from tests.helpers import command, create_order
from workflows.order_workflow import OrderWorkflow


def as_json(record: logging.LogRecord) -> dict[str, object]:
    line = JsonLogFormatter().format(record)
    assert "\n" not in line
    entry: dict[str, object] = json.loads(line)
    return entry


async def test_command_lines_carry_the_ids(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="temporalio.workflow")
    order = await create_order(http)
    key = {"Idempotency-Key": "log-me"}
    href = order["_links"]["commands"]["href"] + "/assignOrder"
    assert (await http.put(href, params={"restaurantId": 5}, headers=key)).status_code == 200
    assert (await command(http, order, "orderReady")).status_code == 409
    entries = [as_json(r) for r in caplog.records if r.name == "temporalio.workflow"]
    mine = [e for e in entries if e.get("order_id") == order["orderId"]]
    applied = next(e for e in mine if str(e["message"]).startswith("assignOrder applied"))
    assert applied["command_id"] == "log-me"
    assert applied["workflow_id"] == f"order-{order['orderId']}"
    assert applied["run_id"] and applied["level"] == "INFO" and applied["time"]
    assert any(str(e["message"]).startswith("orderReady refused (not_allowed)") for e in mine)


async def test_workflow_logging_is_silent_on_replay(caplog: pytest.LogCaptureFixture) -> None:
    path = sorted(Path(__file__).parent.joinpath("histories").glob("order_*.json"))[-1]
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    caplog.set_level(logging.INFO, logger="temporalio.workflow")
    await Replayer(workflows=[OrderWorkflow]).replay_workflow(history)
    assert not [r for r in caplog.records if r.name == "temporalio.workflow"]


def test_activity_and_plain_lines() -> None:
    record = logging.LogRecord(
        "orderflow", logging.WARNING, __file__, 1, "db slow %s", ("x",), None
    )
    record.temporal_activity = {
        "activity_type": "registerCustomer",
        "workflow_id": "customer-request-r1",
    }
    record.request_id = "r1"
    entry = as_json(record)
    assert entry["message"] == "db slow x" and entry["activity_type"] == "registerCustomer"
    assert entry["workflow_id"] == "customer-request-r1" and entry["request_id"] == "r1"
