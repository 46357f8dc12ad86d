"""The one way any process of orderflow connects to Temporal: address, namespace, TLS or
API key, the SDK runtime (metrics) and the client interceptors (tracing)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RetryConfig, RPCError, RPCStatusCode, TLSConfig

from orderflow.errors import TemporalTimeout, TemporalUnavailable, Unavailable
from orderflow.settings import Settings

# Fail fast: a caller waiting on a dead cluster is better told to retry later.
CONNECT_RETRY = RetryConfig(max_elapsed_time_millis=3_000, max_retries=3)


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client for the configured cluster. ``lazy`` defers the connection to the first
    call, so the API can start (and answer 503) while Temporal is down."""
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key.get_secret_value() if api_key else None,
        tls=tls_config(settings),
        retry_config=CONNECT_RETRY,
        lazy=lazy,
        runtime=runtime,
        interceptors=interceptors(settings),
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    if not (settings.temporal_tls or settings.temporal_tls_cert or settings.temporal_tls_ca):
        # Temporal Cloud API keys need TLS; the SDK turns it on by itself for them.
        return settings.temporal_api_key is not None
    return TLSConfig(
        server_root_ca_cert=_read(settings.temporal_tls_ca),
        client_cert=_read(settings.temporal_tls_cert),
        client_private_key=_read(settings.temporal_tls_key),
    )


def worker_runtime(settings: Settings) -> Runtime | None:
    """A runtime exporting the SDK's metrics to Prometheus, when a worker asks for it."""
    if settings.worker_metrics_address is None:
        return None
    metrics = PrometheusConfig(bind_address=settings.worker_metrics_address)
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))


def interceptors(settings: Settings) -> list[Interceptor]:
    """The tracing interceptor (client calls, and the workers built on that client)."""
    return [TracingInterceptor()] if settings.tracing else []


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def unavailable(error: Exception) -> Unavailable | None:
    """What a failed call tells its caller, if Temporal's availability is the cause: it did
    not answer in time, or it cannot be reached. None for any other failure (a bug, or an
    answer the caller must handle itself, such as NOT_FOUND)."""
    if isinstance(error, RPCError):
        # A call that outlives its rpc_timeout ends CANCELLED ("Timeout expired") on the
        # client side, DEADLINE_EXCEEDED when the server gives up first.
        if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            return TemporalTimeout()
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None
        return TemporalUnavailable()
    if isinstance(error, RuntimeError) and "Failed client connect" in str(error):
        return TemporalUnavailable()
    return None


def failure_text(error: Exception) -> str:
    """A failed call for a log line: with its gRPC status, which its message may not say
    (a broken HTTP/2 stream and an unreachable server read alike otherwise)."""
    if isinstance(error, RPCError):
        return f"{error.status.name}: {error}"
    return str(error)
