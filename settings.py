"""The one settings object: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.client import Client, Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RetryConfig, TLSConfig


class Settings(BaseSettings):
    """Configuration for the API, the workers and the embedded stack.

    Every field is read from the environment variable of the same name in upper case
    (``TEMPORAL_ADDRESS``, ``DATABASE_URL`` …) or from a ``.env`` file.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    # Temporal connection: a local dev server by default, any cluster or Temporal Cloud by setting.
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls_cert: Path | None = Field(None, description="Client certificate (mTLS).")
    temporal_tls_key: Path | None = Field(None, description="Client private key (mTLS).")
    temporal_tls_ca: Path | None = Field(None, description="CA of the server, if not public.")
    temporal_tls: bool = Field(False, description="Use TLS without a client certificate.")
    temporal_api_key: SecretStr | None = Field(None, description="Temporal Cloud API key.")
    temporal_rpc_timeout_seconds: float = Field(
        10.0, gt=0, description="Upper bound on one call to Temporal before the API answers 503."
    )
    temporal_ui_url: str | None = Field(
        None, description="Web UI base URL for history links; the embedded UI's by default."
    )

    # Task queues: one per kind of work, so each scales on its own.
    orders_task_queue: str = "orders"
    customers_task_queue: str = "customers"

    # Worker concurrency.
    worker_max_concurrent_workflow_tasks: int = Field(100, ge=1)
    worker_max_concurrent_activities: int = Field(100, ge=1)
    worker_max_cached_workflows: int = Field(10_000, ge=0)
    worker_graceful_shutdown_seconds: float = Field(10.0, ge=0)
    # Prometheus metrics of the Temporal SDK runtime (task latencies, sticky cache, pollers),
    # served by the worker at this host:port, e.g. 0.0.0.0:9464.
    worker_metrics_address: str | None = None
    # Touched while the worker reaches Temporal: orchestrators check its age.
    worker_health_file: Path | None = None
    worker_health_interval_seconds: float = Field(5.0, gt=0)

    # Orders: continue-as-new once a run's history is this long (besides the SDK's suggestion).
    order_continue_as_new_after_history_events: int | None = Field(None, ge=10)
    # How many command outcomes an order remembers for Idempotency-Key replays.
    order_remembered_command_outcomes: int = Field(1_000, ge=1, le=2_000)
    # Events an order keeps; its whole log must fit one 2 MB continue-as-new payload.
    order_max_events: int = Field(5_000, ge=10, le=6_000)
    # Published events an order's workflow keeps after continue-as-new (the rest: outbox).
    order_kept_events_after_continue: int = Field(100, ge=1, le=1_000)
    # Order events gather this long before one local activity publishes them all: fewer
    # publications under load, at the price of that much delay in the feed (0: at once).
    order_publish_delay_ms: int = Field(1_000, ge=0, le=60_000)

    # How long a customer request may take before the API answers 202 and lets it finish.
    customer_request_wait_seconds: float = Field(5.0, ge=0)

    # Customer database: a SQLite file by default, postgresql+psycopg://… in production.
    database_url: str = "sqlite:///.data/orderflow.db"

    # HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str | None = Field(
        None, description="Fixed base URL for links; by default taken from the request."
    )
    api_keys: list[SecretStr] = Field(
        default_factory=list, description="If set, clients must send one as X-API-Key."
    )
    api_metrics: bool = Field(True, description="Serve Prometheus metrics at /metrics")
    # OpenTelemetry: spans for HTTP requests, Temporal calls, workflows and activities,
    # sent to an OTLP/HTTP collector when an endpoint is set (else to the process's provider).
    tracing: bool = False
    otel_exporter_otlp_endpoint: str | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one object a line, with order, workflow and command ids"
    )

    # Embedded stack (the one-command default).
    data_dir: Path = Path(".data")
    temporal_ui_port: int = 8233
    # How long the embedded server keeps closed orders readable (the dev server's default is 1 day).
    embedded_retention_days: int = Field(30, ge=1)

    @property
    def ui_url(self) -> str:
        return (self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}").rstrip("/")

    @property
    def temporal_rpc_timeout(self) -> timedelta:
        return timedelta(seconds=self.temporal_rpc_timeout_seconds)

    def temporal_tls_config(self) -> TLSConfig | bool:
        if not (self.temporal_tls or self.temporal_tls_cert or self.temporal_tls_ca):
            # Temporal Cloud API keys need TLS; the SDK turns it on by itself for them.
            return self.temporal_api_key is not None
        return TLSConfig(
            server_root_ca_cert=_read(self.temporal_tls_ca),
            client_cert=_read(self.temporal_tls_cert),
            client_private_key=_read(self.temporal_tls_key),
        )

    def temporal_runtime(self) -> Runtime | None:
        """A runtime exporting the SDK's metrics to Prometheus, when a worker asks for it."""
        if self.worker_metrics_address is None:
            return None
        metrics = PrometheusConfig(bind_address=self.worker_metrics_address)
        return Runtime(telemetry=TelemetryConfig(metrics=metrics))

    def configure_tracing(self, service_name: str) -> None:
        """Export spans over OTLP/HTTP when tracing is on and an endpoint is set."""
        if not (self.tracing and self.otel_exporter_otlp_endpoint):
            return
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        exporter = OTLPSpanExporter(endpoint=self.otel_exporter_otlp_endpoint)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

    def temporal_interceptors(self) -> list[Interceptor]:
        """The tracing interceptor (client calls, and the workers built on that client)."""
        return [TracingInterceptor()] if self.tracing else []

    async def connect_temporal(
        self, *, lazy: bool = False, runtime: Runtime | None = None
    ) -> Client:
        """A client for the configured cluster. ``lazy`` defers the connection to the first
        call, so the API can start (and answer 503) while Temporal is down."""
        return await Client.connect(
            self.temporal_address,
            namespace=self.temporal_namespace,
            api_key=self.temporal_api_key.get_secret_value() if self.temporal_api_key else None,
            tls=self.temporal_tls_config(),
            # Fail fast: a caller waiting on a dead cluster is better told to retry later.
            retry_config=RetryConfig(max_elapsed_time_millis=3_000, max_retries=3),
            lazy=lazy,
            runtime=runtime,
            interceptors=self.temporal_interceptors(),
        )


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once. Invalid ones stop the process with one line
    per problem (naming the variable), not a traceback."""
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors():
            variable = "_".join(str(part) for part in problem["loc"]).upper() or "settings"
            print(f"orderflow: invalid setting {variable}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


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
