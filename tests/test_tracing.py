"""OpenTelemetry: one trace follows an HTTP request into the workflow and its activities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from orderflow import temporal
from orderflow.settings import Settings
from tests.helpers import (
    command,
    create_order,
    eventually,
    isolated_settings,
    running_api,
    running_worker,
)


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """An in-process exporter behind the global tracer provider (settable once a process)."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    return spans


def trace_of(spans: Sequence[ReadableSpan], name: str) -> list[str]:
    """The names of the spans in the trace of the first span called ``name``."""
    root = next(s for s in spans if s.name == name)
    assert root.context is not None
    return [
        s.name
        for s in spans
        if s.context is not None and s.context.trace_id == root.context.trace_id
    ]


async def test_one_trace_from_http_into_workflows_and_activities(
    exporter: InMemorySpanExporter, settings: Settings, client: Client
) -> None:
    own = isolated_settings(
        settings, tracing=True, customers_task_queue=f"customers-{uuid.uuid4()}"
    )
    traced = await temporal.connect(own)
    async with running_worker(traced, own, customers=True), running_api(own) as api:
        order = await create_order(api)
        assert (await command(api, order, "assignOrder", restaurantId=1)).status_code == 200

        async def published() -> None:
            names = {s.name for s in exporter.get_finished_spans()}
            assert "RunActivity:publishOrderEvents" in names

        await eventually(published)
    spans = exporter.get_finished_spans()

    registration = trace_of(spans, "POST /v1/customers")
    for name in ("StartWorkflow:RegisterCustomer", "RunWorkflow:RegisterCustomer",
                 "StartActivity:registerCustomer", "RunActivity:registerCustomer"):  # fmt: skip
        assert name in registration, (name, registration)

    placed = trace_of(spans, "POST /v1/orders")
    for name in ("StartWorkflow:Order", "RunWorkflow:Order", "RunActivity:publishOrderEvents"):
        assert name in placed, (name, placed)

    commanded = trace_of(spans, "PUT /v1/orders/{order_id}/commands/{command}")
    for name in ("SignalWorkflow:assignOrder", "QueryWorkflow:outcome", "HandleQuery:outcome"):
        assert name in commanded, (name, commanded)
    # The workflow handles the signal inside its own trace, linked to the request's.
    assert "HandleSignal:assignOrder" in placed
    handled = next(s for s in spans if s.name == "HandleSignal:assignOrder")
    signalled = next(s for s in spans if s.name == "SignalWorkflow:assignOrder")
    assert signalled.context is not None
    assert [link.context.trace_id for link in handled.links] == [signalled.context.trace_id]
