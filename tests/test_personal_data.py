"""No personal data outside the encrypted payloads: a customer's recognisable details appear
nowhere in Temporal in the clear (histories, ids, summaries, search attributes, memos,
visibility) nor in any log line of the stack's processes."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    ListWorkflowExecutionsRequest,
)

from orderflow import temporal
from orderflow.database.engine import create_database_engine
from orderflow.settings import Settings
from tests.embedded import make_run, stack_environment
from tests.helpers import TEST_ENCRYPTION_KEYS, free_port
from tests.processes import api_process
from tests.raw_history import assert_only_ciphertext, raw_history
from workflows.customer_names import register_request_id, request_workflow_id, update_request_id
from workflows.order_names import order_workflow_id


def test_a_customers_details_are_nowhere_in_the_clear(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex[:8]
    last_name = f"Quartermain{marker}"
    email = f"zelda.{marker}@example.org"
    phone = "+44 20 7946 0958"
    street = f"{marker} Marigold Crescent"
    new_street = f"{marker} Juniper Terrace"
    secrets = [last_name, email, email.upper(), marker, "7946 0958", "Marigold", "Juniper"]
    body = {
        "firstName": "Zelda",
        "lastName": last_name,
        "email": email,
        "phone": phone,
        "address": {"street": street, "city": "Dunwich", "postalCode": "IP17", "country": "GB"},
    }
    # Idempotency keys are the client's own ids: opaque here, as a client should send them.
    first, second, change = (str(uuid.uuid4()) for _ in range(3))
    with make_run(stack_environment(tmp_path / "data"), signal.SIGTERM) as stack:
        with httpx.Client(base_url=stack.api, timeout=30) as http:
            registered = http.post("/v1/customers", json=body, headers={"Idempotency-Key": first})
            assert registered.status_code == 201, registered.text
            customer_id = registered.json()["customerId"]
            # The same email in another case: refused, in an activity failure.
            again = {**body, "email": email.upper()}
            refused = http.post("/v1/customers", json=again, headers={"Idempotency-Key": second})
            assert refused.status_code == 409, refused.text
            found = http.get("/v1/customers", params={"email": email})
            assert found.json()["_embedded"]["customers"][0]["customerId"] == customer_id
            patch = {"address": {"street": new_street}}
            headers = {"Idempotency-Key": change, "Content-Type": "application/merge-patch+json"}
            updated = http.patch(f"/v1/customers/{customer_id}", json=patch, headers=headers)
            assert updated.status_code == 200, updated.text
            order = http.post("/v1/orders", json={"accountId": customer_id})
            assert order.status_code == 201, order.text

        workflow_ids = [
            request_workflow_id(register_request_id(first)),
            request_workflow_id(register_request_id(second)),
            request_workflow_id(update_request_id(customer_id, change)),
            order_workflow_id(order.json()["orderId"]),
        ]
        asyncio.run(_assert_temporal_holds_no_secret(stack.settings, workflow_ids, secrets))
        output = stack.output

    # Every line the stack's processes wrote.
    for secret in secrets:
        assert secret not in output, secret


def test_the_access_log_hides_query_values_but_ids(tmp_path: Path, postgres_url: str) -> None:
    """`orderflow api` logging each request (at info): the email a client looks up is not
    written, the paging of a list is."""
    environment = {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # not needed for these reads
        "DATABASE_URL": postgres_url,
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
    }
    with api_process(tmp_path, "--log-level", "info", **environment) as api:
        found = httpx.get(f"{api.url}/v1/customers", params={"email": "zelda.q@example.org"})
        assert found.status_code == 200, found.text
        events = httpx.get(f"{api.url}/v1/events", params={"after": 0, "type": "OrderCreated"})
        assert events.status_code == 200, events.text
    output = api.output
    assert '"GET /v1/customers?email=hidden HTTP/1.1" 200' in output, output
    assert '"GET /v1/events?after=0&type=OrderCreated HTTP/1.1" 200' in output, output
    assert "zelda" not in output


async def _assert_temporal_holds_no_secret(
    settings: Settings, workflow_ids: list[str], secrets: list[str]
) -> None:
    for workflow_id in workflow_ids:
        # Payloads (inputs, results, summaries, failures) are ciphertext, and nothing else
        # in the history (ids, activity and workflow types, task queues) names the customer.
        events = await raw_history(settings, workflow_id)
        assert assert_only_ciphertext(events, secrets) > 0
    client = await temporal.connect(settings.model_copy(update={"encryption": False}))
    service = client.workflow_service
    for workflow_id in workflow_ids:
        described = await service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
        raw = described.SerializeToString()  # search attributes, memo, details, summary
        assert workflow_id.encode() in raw
        for secret in secrets:
            assert secret.encode() not in raw, (secret, workflow_id)
    listed = await service.list_workflow_executions(
        ListWorkflowExecutionsRequest(namespace=client.namespace, page_size=100)
    )
    assert len(listed.executions) >= len(workflow_ids)
    for secret in secrets:
        assert secret.encode() not in listed.SerializeToString(), secret


def test_database_errors_never_quote_the_statements_values(postgres_url: str) -> None:
    """A failed statement's message (which the SDK logs, and Temporal keeps in a failure)
    names the statement, not the personal data it carried."""
    engine = create_database_engine(postgres_url)
    secret = f"zelda.{uuid.uuid4().hex[:8]}@example.org"
    try:
        with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
            statement = text("SELECT id FROM no_such_table WHERE email = :email")
            connection.execute(statement, {"email": secret})
    finally:
        engine.dispose()
    assert "parameters hidden" in str(raised.value)
    assert secret not in str(raised.value)
