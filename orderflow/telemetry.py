"""Logs and traces of every orderflow process: the log format and level, JSON lines with
the ids a line concerns, and OpenTelemetry spans exported over OTLP/HTTP."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from orderflow.settings import Settings


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line. The ids a line concerns (order, command, customer, request,
    and the workflow/run/activity the Temporal SDK attaches) become fields of their own."""

    FIELDS = ("order_id", "command_id", "customer_id", "request_id")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("temporal_workflow", "temporal_activity"):
            details = getattr(record, name, None)
            if isinstance(details, dict):
                entry.update((key, value) for key, value in details.items() if key not in entry)
        entry.update((f, getattr(record, f)) for f in self.FIELDS if hasattr(record, f))
        if "order_id" in entry and "workflow_id" not in entry:
            entry["workflow_id"] = f"order-{entry['order_id']}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class HideQueryValues(logging.Filter):
    """Access log lines keep a query's names but only the values of ``SHOWN``: the rest may
    be personal data (``GET /v1/customers?email=…``)."""

    SHOWN = frozenset({"page", "size", "after", "type", "accountId", "restaurantId", "driverId"})

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access line: (client, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, _, query = args[2].partition("?")
            if query:
                pairs = parse_qsl(query, keep_blank_values=True)
                shown = [(k, v if k in self.SHOWN else "hidden") for k, v in pairs]
                record.args = (*args[:2], f"{path}?{urlencode(shown)}", *args[3:])
        return True


def configure_logging(settings: Settings) -> None:
    """The process's log format and level, for the API and the workers alike."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonLogFormatter())
        # The ids are fields already: keep them out of the workflow's message text.
        from temporalio import workflow

        workflow.logger.workflow_info_on_message = False
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideQueryValues) for f in access.filters):
        access.addFilter(HideQueryValues())


def configure_tracing(settings: Settings, service_name: str) -> None:
    """Export spans over OTLP/HTTP when tracing is on and an endpoint is set."""
    if not (settings.tracing and settings.otel_exporter_otlp_endpoint):
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
