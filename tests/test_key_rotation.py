"""Rotating the encryption key, as docs/operations.md tells an operator to: add key B as the
newest, keep A, restart the workers and the API. An order started under A carries on under
B, and its whole history stays readable."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType

from orderflow.encryption import (
    KEY_ID,
    EncryptionCodec,
    KeyRing,
    UndecryptablePayload,
    new_key_entry,
)
from orderflow.settings import Settings
from tests.helpers import (
    command_applied,
    create_order,
    isolated_settings,
    register_customer,
    running_api,
)
from tests.processes import worker_process
from tests.raw_history import assert_only_ciphertext, raw_history
from workflows.order_names import order_workflow_id


async def test_an_order_carries_on_and_stays_readable_after_a_rotation(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    account = (await register_customer(http))["customerId"]
    a, b = new_key_entry("2024-a"), new_key_entry("2025-b")
    under_a = isolated_settings(settings, encryption_keys=SecretStr(a))
    rotated = isolated_settings(
        under_a, orders_task_queue=under_a.orders_task_queue, encryption_keys=SecretStr(f"{a},{b}")
    )

    with worker_process(under_a, "orders"):
        async with running_api(under_a) as api:
            order = await create_order(api, account)
            assigned = await command_applied(api, order, "assignOrder", restaurantId=101)
            assert assigned["status"] == "ORDER_ASSIGNED"
    order_id = order["orderId"]

    # A worker process started afresh replays the order from its first event: under A.
    with worker_process(rotated, "orders"):
        async with running_api(rotated) as api:
            order = (await api.get(f"/v1/orders/{order_id}")).json()
            assert order["status"] == "ORDER_ASSIGNED" and order["restaurantId"] == 101
            await command_applied(api, order, "prepareOrder")
            ready = await command_applied(api, order, "orderReady")
            assert ready["status"] == "ORDER_PREPARED"
            events = (await api.get(f"/v1/orders/{order_id}/events")).json()
            listed = [e["orderStatus"] for e in events["_embedded"]["orderEventList"]]
            assert listed == [
                "ORDER_CREATED",
                "ORDER_ASSIGNED",
                "ORDER_PREPARING",
                "ORDER_PREPARED",
            ]

    history = await raw_history(settings, order_workflow_id(order_id))
    assert_only_ciphertext(history, [], key_ids={"2024-a", "2025-b"})
    signals = [
        event.workflow_execution_signaled_event_attributes.input.payloads[0]
        for event in history
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert [s.metadata[KEY_ID] for s in signals] == [b"2024-a", b"2025-b", b"2025-b"]

    # Dropping A too early would make the order unreadable: loudly, naming A.
    with pytest.raises(UndecryptablePayload, match="key '2024-a'"):
        await EncryptionCodec(KeyRing.parse(b)).decode(signals[:1])
