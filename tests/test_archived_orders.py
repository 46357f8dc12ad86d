"""A closed order stays readable after Temporal lets it go (retention): its events in the
outbox tell what it was."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client

from tests.helpers import (
    WALK,
    assert_problem,
    command,
    create_order,
    eventually,
    workflow_gone,
)
from workflows.order_names import order_workflow_id


async def test_an_order_past_retention_is_read_from_its_events(
    http: httpx.AsyncClient, client: Client
) -> None:
    order = await create_order(http)
    await command(http, order, "updateOrderLocation", lat=51.5, lon=-0.12)
    for name, params, _ in WALK:
        assert (await command(http, order, name, **params)).status_code == 200
    before = (await http.get(order["_links"]["self"]["href"])).json()
    events_href = order["_links"]["events"]["href"] + "?size=50"

    async def all_published() -> dict[str, Any]:
        body: dict[str, Any] = (await http.get("/v1/events", params={"limit": 500})).json()
        while body["_embedded"]["events"]:
            mine = [e for e in body["_embedded"]["events"]
                    if e["source"] == f"/v1/orders/{order['orderId']}"]  # fmt: skip
            if mine and mine[-1]["type"] == "OrderDelivered":
                return body
            body = (await http.get(body["_links"]["next"]["href"])).json()
        raise AssertionError("OrderDelivered is not published yet")

    await eventually(all_published)
    events_before = (await http.get(events_href)).json()["_embedded"]["orderEventList"]

    # What retention does after the namespace's period: the execution is deleted.
    workflow_id = order_workflow_id(order["orderId"])
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        )
    )

    # The dev server deletes it after about 35 s.
    await eventually(lambda: workflow_gone(client, workflow_id), timeout=120, interval=0.5)

    after = (await http.get(order["_links"]["self"]["href"])).json()
    assert "history" not in after["_links"]
    del before["_links"]["history"]
    assert after == before
    assert (await http.get(events_href)).json()["_embedded"]["orderEventList"] == events_before
    one = await http.get(events_before[1]["_links"]["self"]["href"])
    assert one.status_code == 200 and one.json() == events_before[1]
    assert (await http.get(order["_links"]["commands"]["href"])).json()["commands"] == []
    refused = assert_problem(await command(http, order, "cancelOrder"), 409, "order-closed")
    assert refused["orderStatus"] == "ORDER_DELIVERED"
    assert_problem(await http.get("/v1/orders/987654321"), 404, "not-found")
