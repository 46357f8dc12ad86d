"""Prometheus metrics of the API: requests and their latency per route, method, status and,
for commands, the command; served at /metrics."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.deps import require_scope
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
    app.add_middleware(MeasureRequests, metrics=metrics)

    @app.get("/metrics", include_in_schema=False, dependencies=[require_scope("metrics:read")])
    async def read_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


class MeasureRequests:
    """Counts every response by the status it was sent with. A pure ASGI middleware: an
    exception that escapes the app (answered 500 by the server-error handler outside it)
    is counted as a 500 rather than lost with the response ``call_next`` never returns."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app says otherwise

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route, command = _route_of(scope)
            labels = (scope["method"], route, str(status), command)
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)


def _route_of(scope: Scope) -> tuple[str, str]:
    """The matched route's template (bounded label values) and the command, if any; the
    router leaves both in the scope."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
    command = scope.get("path_params", {}).get("command", "")
    # Only known commands become label values: a random path must not grow the series.
    return template, command if command in COMMANDS else ""
