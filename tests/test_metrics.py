"""Prometheus metrics: the API's per route and command, the worker's from the SDK runtime."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.main import create_app
from orderflow.settings import Settings
from tests.helpers import (
    WALK,
    command,
    create_order,
    eventually,
    free_port,
    isolated_settings,
    register_customer,
    running_api,
)
from tests.processes import worker_process


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def test_the_api_counts_requests_per_route_and_command(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    await command(http, order, "assignOrder", restaurantId=1)
    await command(http, order, "orderReady")  # a 409
    await command(http, order, "noSuchCommand")  # a 404 that must not become a label value
    text = (await http.get("/metrics")).text
    route = "/v1/orders/{order_id}/commands/{command}"
    counted = {
        (labels["method"], labels["route"], labels["status"], labels["command"]): value
        for labels, value in samples(text, "orderflow_http_requests_total")
    }
    assert counted[("PUT", route, "200", "assignOrder")] >= 1
    assert counted[("PUT", route, "409", "orderReady")] >= 1
    assert counted[("PUT", route, "404", "")] >= 1
    assert counted[("POST", "/v1/orders", "201", "")] >= 1
    assert "noSuchCommand" not in text
    latencies = samples(text, "orderflow_http_request_duration_seconds_count")
    assert any(labels["route"] == route and labels["status"] == "200" for labels, _ in latencies)


async def test_the_worker_serves_the_sdk_runtime_metrics(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    account = (await register_customer(http))["customerId"]
    own = isolated_settings(settings, worker_metrics_address=f"127.0.0.1:{free_port()}")
    with worker_process(own, "orders"):
        async with running_api(own) as api:
            order = await create_order(api, account)
            for name, params, _ in WALK:
                assert (await command(api, order, name, **params)).status_code == 200
            # The workflow completes a moment after its last command (its events are
            # published first): scrape until every series is there.
            async with httpx.AsyncClient() as scraper:

                async def every_series() -> None:
                    response = await scraper.get(f"http://{own.worker_metrics_address}/metrics")
                    for series in (
                        "temporal_workflow_task_execution_latency",
                        "temporal_workflow_task_schedule_to_start_latency",
                        "temporal_sticky_cache_size",
                        "temporal_num_pollers",
                        "temporal_workflow_completed",
                        "temporal_local_activity_execution_latency",
                    ):
                        assert series in response.text, series

                await eventually(every_series, timeout=30)


async def test_every_response_is_counted_even_an_unhandled_exception(
    settings: Settings,
) -> None:
    app = create_app(settings)

    @app.get("/v1/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        for _ in range(3):
            response = await http.get("/v1/boom")
            assert response.status_code == 500
            assert response.headers["content-type"] == "application/problem+json"
        assert (await http.get("/v1/nothing-here")).status_code == 404
        text = (await http.get("/metrics")).text
    counted = {
        (labels["route"], labels["status"]): value
        for labels, value in samples(text, "orderflow_http_requests_total")
    }
    assert counted[("/v1/boom", "500")] == 3
    assert counted[("unmatched", "404")] == 1
