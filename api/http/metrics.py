"""Prometheus metrics of the API: requests and their latency per route, method, status and,
for commands, the command; served at /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from workflows.order_machine import COMMANDS

LABELS = ("method", "route", "status", "command")


class ApiMetrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "orderflow_http_requests", "HTTP requests answered", LABELS, registry=self.registry
        )
        self.latency = Histogram(
            "orderflow_http_request_duration_seconds",
            "Time to answer an HTTP request",
            LABELS,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


def install_metrics(app: FastAPI) -> None:
    metrics = ApiMetrics()

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route, command = _route_of(request)
        labels = (request.method, route, str(response.status_code), command)
        metrics.requests.labels(*labels).inc()
        metrics.latency.labels(*labels).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    async def read_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _route_of(request: Request) -> tuple[str, str]:
    """The matched route's template (bounded label values) and the command, if any; the
    router leaves both in the scope."""
    route = request.scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
    command = request.scope.get("path_params", {}).get("command", "")
    # Only known commands become label values: a random path must not grow the series.
    return template, command if command in COMMANDS else ""
