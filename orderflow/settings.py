"""The one settings object: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

import sys
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderflow.settings_http import HttpSettings


class Settings(BaseSettings, HttpSettings):
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

    # Payload encryption (docs/operations.md): every payload orderflow sends to Temporal is
    # sealed with AES-256-GCM. A key ring is id:base64key entries, newest last: the newest
    # encrypts, any decrypts. The embedded stack makes its own key file in DATA_DIR; the API
    # and workers refuse to start without keys unless ENCRYPTION=off.
    encryption: bool = Field(True, description="off: payloads in plaintext (never with customers).")
    encryption_keys: SecretStr | None = Field(
        None, description="The key ring: 'id:base64key,…', newest last."
    )
    encryption_keys_file: Path | None = Field(
        None, description="A file of 'id:base64key' lines, newest last (instead of the above)."
    )
    # Task queues: one per kind of work, so each scales on its own.
    orders_task_queue: str = "orders"
    customers_task_queue: str = "customers"

    # Worker concurrency.
    worker_max_concurrent_workflow_tasks: int = Field(100, ge=1)
    worker_max_concurrent_activities: int = Field(100, ge=1)
    # Each cached order costs ~165-190 KB (most of it the sandbox's copy of the workflow
    # module); 4,000 keeps the orders worker under 1 GB however many orders are open
    # (measured: 10,000 open orders, 884 MiB). An evicted order is replayed when it next moves.
    worker_max_cached_workflows: int = Field(4_000, ge=0)
    worker_graceful_shutdown_seconds: float = Field(10.0, ge=0)
    # Prometheus metrics of the Temporal SDK runtime (task latencies, sticky cache, pollers),
    # served by the worker at this host:port, e.g. 0.0.0.0:9464.
    worker_metrics_address: str | None = None
    # Touched while the worker reaches Temporal: orchestrators check its age.
    worker_health_file: Path | None = None
    worker_health_interval_seconds: float = Field(5.0, gt=0)

    # Orders: continue-as-new once a run's history is this long (besides the SDK's suggestion).
    order_continue_as_new_after_history_events: int | None = Field(None, ge=10)
    # How long a synchronous command waits for its outcome once it is recorded; past that
    # the answer is 202 with the command's outcome resource (pending until known).
    order_command_wait_seconds: float = Field(3.0, gt=0, le=30)
    # How many command outcomes an order remembers for Idempotency-Key replays.
    order_remembered_command_outcomes: int = Field(1_000, ge=1, le=2_000)
    # Events an order keeps; its whole log must fit one 2 MB continue-as-new payload.
    order_max_events: int = Field(5_000, ge=10, le=6_000)
    # Published events an order's workflow keeps after continue-as-new (the rest: outbox).
    order_kept_events_after_continue: int = Field(100, ge=1, le=1_000)
    # Commands one order accepts from each API process: a token bucket of
    # ORDER_COMMAND_BURST, refilled at ORDER_COMMANDS_PER_SECOND. Beyond it the API answers
    # 429 + Retry-After and records nothing. Well under what one Temporal server applies
    # (a dev server: ~430 signals/s in all), so one order cannot crowd out the others.
    order_commands_per_second: float = Field(
        50.0, gt=0, description="Commands an order accepts per second (per API process)."
    )
    order_command_burst: int = Field(
        100, ge=1, description="Commands an order accepts at once before the rate applies."
    )
    # Order events gather this long before one local activity publishes them all: fewer
    # publications under load, at the price of that much delay in the feed (0: at once).
    order_publish_delay_ms: int = Field(1_000, ge=0, le=60_000)

    # How long a customer request may take before the API answers 202 and lets it finish.
    customer_request_wait_seconds: float = Field(5.0, ge=0)
    # An erasure deletes the customer's request histories, then once more this much later:
    # an update that was on its way during the first sweep is caught by the second.
    customer_erasure_sweep_again_seconds: float = Field(60.0, ge=0, le=86_400)

    # Customer database: postgresql+psycopg://… in production; unset, the SQLite file
    # orderflow.db in data_dir, so DATA_DIR holds all of the embedded stack's state.
    database_url: str = ""
    # Every database call is bounded: a database that refuses or stops answering costs an
    # API request at most DATABASE_CALL_TIMEOUT_SECONDS, then 503 + Retry-After.
    database_connect_timeout_seconds: int = Field(
        2, ge=2, description="Opening a PostgreSQL connection (libpq: whole seconds, at least 2)."
    )
    database_statement_timeout_seconds: float = Field(
        2.0, gt=0, description="One statement, cancelled by PostgreSQL (its statement_timeout)."
    )
    # Workers write in transactions that queue on the outbox's lock and are retried anyway:
    # their statements may wait longer than an API read (which answers 503 within seconds).
    worker_database_statement_timeout_seconds: float = Field(
        15.0, gt=0, description="One statement of a worker's activity (statement_timeout)."
    )
    database_pool_timeout_seconds: float = Field(
        2.0, gt=0, description="Waiting for a pooled connection when all are in use."
    )
    database_call_timeout_seconds: float = Field(
        3.0,
        gt=0,
        description="One database call of the API, whatever hangs; its connections are then "
        "closed. Also TCP's limit on unacknowledged data (tcp_user_timeout).",
    )

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
    # The embedded server's Prometheus metrics (http://127.0.0.1:PORT/metrics); unset, a port
    # it picks. The benchmark's probe reads them.
    temporal_metrics_port: int | None = Field(None, ge=1, le=65535)
    # How long the embedded server keeps closed orders readable (the dev server's default is 1 day).
    embedded_retention_days: int = Field(30, ge=1)
    # Supervision of the embedded stack: a child that dies is started again after this delay,
    # doubled after each quick death up to the maximum, and reset once a child has run
    # supervisor_restart_reset_after_seconds.
    supervisor_restart_delay_seconds: float = Field(0.5, gt=0)
    supervisor_restart_max_delay_seconds: float = Field(30.0, gt=0)
    supervisor_restart_reset_after_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _database_in_data_dir(self) -> Self:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'orderflow.db'}"
        return self

    @field_validator("encryption_keys")
    @classmethod
    def _a_valid_key_ring(cls, keys: SecretStr | None) -> SecretStr | None:
        from orderflow.encryption import KeyRing

        if keys is not None:
            KeyRing.parse(keys.get_secret_value(), source="the key ring")
        return keys

    @model_validator(mode="after")
    def _one_source_of_keys(self) -> Self:
        if self.encryption_keys is not None and self.encryption_keys_file is not None:
            raise ValueError("set ENCRYPTION_KEYS or ENCRYPTION_KEYS_FILE, not both")
        return self

    @property
    def ui_url(self) -> str:
        return (self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}").rstrip("/")

    @property
    def codec_origins(self) -> frozenset[str]:
        """The origins whose pages may call the codec: the setting, else the Web UI's origin
        (a UI on localhost is reached as 127.0.0.1 as well, and the other way round)."""
        if self.codec_allowed_origins:
            return frozenset(origin.rstrip("/") for origin in self.codec_allowed_origins)
        origin = _origin(self.ui_url)
        twins = {"//localhost:": "//127.0.0.1:", "//127.0.0.1:": "//localhost:"}
        return frozenset({origin, *(origin.replace(a, b) for a, b in twins.items() if a in origin)})

    @property
    def temporal_rpc_timeout(self) -> timedelta:
        return timedelta(seconds=self.temporal_rpc_timeout_seconds)


def _origin(url: str) -> str:
    """scheme://host[:port] of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once. Invalid ones stop the process with one line
    per problem (naming the variable), not a traceback."""
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors():
            variable = "_".join(str(part) for part in problem["loc"]).upper() or "settings"
            reason = problem["msg"].removeprefix("Value error, ")  # a validator's own words
            print(f"orderflow: invalid setting {variable}: {reason}", file=sys.stderr)
        raise SystemExit(2) from None
