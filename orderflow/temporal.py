"""The one way any process of orderflow connects to Temporal: address, namespace, TLS or
API key, the SDK runtime (metrics), the client interceptors (tracing) and the data converter
(payload encryption). Workers are built on these clients, so they share all of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.client import Client, Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RetryConfig, RPCError, RPCStatusCode, TLSConfig

from orderflow.encryption import EncryptionCodec, KeyRing, KeyRingError
from orderflow.errors import TemporalTimeout, TemporalUnavailable, Unavailable
from orderflow.settings import Settings

# Fail fast: a caller waiting on a dead cluster is better told to retry later.
CONNECT_RETRY = RetryConfig(max_elapsed_time_millis=3_000, max_retries=3)
# One attempt a call (no time left for a retry; max_retries=0 alone means no limit): its
# failure tells whether it could have reached the server, which a retry's "cannot connect"
# would hide.
SINGLE_ATTEMPT = RetryConfig(max_elapsed_time_millis=0, max_retries=0)


async def connect(
    settings: Settings,
    *,
    lazy: bool = False,
    runtime: Runtime | None = None,
    identity: str | None = None,
    retry: RetryConfig = CONNECT_RETRY,
) -> Client:
    """A client for the configured cluster. ``lazy`` defers the connection to the first
    call, so the API can start (and answer 503) while Temporal is down. Raises KeyRingError
    when encryption is on and its keys are missing or unreadable."""
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key.get_secret_value() if api_key else None,
        tls=tls_config(settings),
        retry_config=retry,
        lazy=lazy,
        runtime=runtime,
        interceptors=interceptors(settings),
        data_converter=data_converter(settings),
        identity=identity,
    )


def data_converter(settings: Settings) -> DataConverter:
    """The SDK's converter, with every payload encrypted under the configured key ring and
    failures' messages and stack traces moved into an (encrypted) payload, unless
    ENCRYPTION=off."""
    ring = key_ring(settings)
    if ring is None:
        return DataConverter.default
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def key_ring(settings: Settings) -> KeyRing | None:
    """The configured key ring; None when encryption is off."""
    if not settings.encryption:
        return None
    if settings.encryption_keys is not None:
        return KeyRing.parse(settings.encryption_keys.get_secret_value(), source="ENCRYPTION_KEYS")
    if settings.encryption_keys_file is not None:
        return KeyRing.read(settings.encryption_keys_file)
    raise KeyRingError(
        "payload encryption is on but no key is configured: set ENCRYPTION_KEYS or "
        "ENCRYPTION_KEYS_FILE (docs/operations.md), or ENCRYPTION=off for plaintext payloads"
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
        return TemporalUnavailable(may_have_arrived=not could_not_connect(error))
    if isinstance(error, RuntimeError) and could_not_connect(error):
        return TemporalUnavailable(may_have_arrived=False)
    return None


# How the SDK says that a call found no connection to send it on.
_NO_CONNECTION = ("Failed client connect", "tcp connect error", "error trying to connect")


def could_not_connect(error: Exception) -> bool:
    """Whether a failed call certainly never reached Temporal: there was no connection to
    send it on. (A connection that broke under it may have delivered it first.) Only the
    error of a single attempt tells: see SINGLE_ATTEMPT."""
    if isinstance(error, RPCError) and error.status != RPCStatusCode.UNAVAILABLE:
        return False
    return isinstance(error, RPCError | RuntimeError) and any(
        sign in str(error) for sign in _NO_CONNECTION
    )


def failure_text(error: Exception) -> str:
    """A failed call for a log line: with its gRPC status, which its message may not say
    (a broken HTTP/2 stream and an unreachable server read alike otherwise)."""
    if isinstance(error, RPCError):
        return f"{error.status.name}: {error}"
    return str(error)
