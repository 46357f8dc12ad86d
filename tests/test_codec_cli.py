"""The ``temporal`` CLI reads an order's history through the API's remote codec, as an
operator would: ciphertext without it, the command's parameters with it."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx

from orderflow.embedded import temporal_binary
from orderflow.encryption import ENCODING
from orderflow.settings import Settings
from tests.codec_client import value_of
from tests.helpers import command_applied, create_order
from workflows.order_names import order_workflow_id


async def test_the_temporal_cli_reads_a_history_through_the_codec(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    order = await create_order(http)
    await command_applied(http, order, "assignOrder", restaurantId=31337)
    command = [
        temporal_binary(), "workflow", "show",
        "--address", settings.temporal_address,
        "--workflow-id", order_workflow_id(order["orderId"]),
        "--output", "json",
    ]  # fmt: skip
    raw = signal_payload(await run(*command))
    assert base64.b64decode(raw["metadata"]["encoding"]) == ENCODING
    # The API answers in this event loop: the CLI runs beside it, not blocking it.
    endpoint = f"{str(http.base_url).rstrip('/')}/codec"
    decoded = signal_payload(await run(*command, "--codec-endpoint", endpoint))
    value = value_of(decoded)
    assert isinstance(value, dict) and value["parameters"] == {"restaurantId": 31337}


def signal_payload(shown: str) -> dict[str, Any]:
    """The signal's payload in ``temporal workflow show --output json``."""
    [signal] = [
        event["workflowExecutionSignaledEventAttributes"]
        for event in json.loads(shown)["events"]
        if event["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"
    ]
    payload: dict[str, Any] = signal["input"]["payloads"][0]
    return payload


async def run(*command: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    output, errors = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, errors.decode()
    return output.decode()
