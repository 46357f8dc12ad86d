"""The FastAPI application: wiring of settings, the Temporal client, the database and routers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from api.codec import routes as codec
from api.codec.cors import CodecCors
from api.customers import routes as customers
from api.customers.service import CustomerRequestOptions, CustomerService
from api.http import health
from api.http.cors import V1Cors
from api.http.deps import LinksDep, require_scope
from api.http.docs import install_docs
from api.http.hal import HalResponse, Resource, link, links
from api.http.headers import SecurityHeaders
from api.http.limits import RequestLimits
from api.http.metrics import install_metrics
from api.http.openapi import install_openapi
from api.http.params import one_value_per_parameter
from api.http.problem_handlers import install_problem_handlers
from api.orders import commands as order_commands
from api.orders import events as order_events
from api.orders import orders
from api.orders.admission import CommandAdmission
from api.orders.options import OrderStartOptions
from api.orders.service import OrderService
from api.orders.temporal import OrderWorkflows
from api.published import catalog
from api.published import feed as event_feed
from api.published.broadcast import Broadcaster, StreamOptions
from orderflow import temporal
from orderflow.database.engine import DatabaseTimeouts, create_database_engine
from orderflow.encryption import EncryptionCodec
from orderflow.health import temporal_health
from orderflow.settings import Settings, get_settings
from orderflow.telemetry import configure_logging, configure_tracing

DESCRIPTION = """
Every order is a long-running Temporal workflow. Commands are signals, state and events are
queries. Responses are HAL (`application/hal+json`): follow `_links` rather than building URLs.
Errors are RFC 9457 problems (`application/problem+json`).
"""


log = logging.getLogger("orderflow.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for ``settings`` (by default, those of the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Lazy: the API starts, and answers 503, while Temporal is down.
        client = await temporal.connect(settings, lazy=True)
        app.state.client = client
        # Signals go once per call, so a failure tells whether one could have arrived.
        signals = await temporal.connect(settings, lazy=True, retry=temporal.SINGLE_ATTEMPT)
        # The Web UI's codec uses the very codec of the API's client.
        payload_codec = client.data_converter.payload_codec
        app.state.codec = payload_codec if isinstance(payload_codec, EncryptionCodec) else None
        # Both connect now if they can (a lazy client would on its first call).
        health = await asyncio.gather(temporal_health(client), temporal_health(signals))
        if health[0] != "ok":
            log.warning(
                "Temporal at %s is unreachable: answering 503 until it is",
                settings.temporal_address,
            )
        app.state.engine = create_database_engine(
            settings.database_url, DatabaseTimeouts.from_settings(settings)
        )
        options = OrderStartOptions.from_settings(settings)
        workflows = OrderWorkflows(client, options, signals=signals)
        app.state.orders = OrderService(
            workflows, app.state.engine, CommandAdmission.from_settings(settings)
        )
        app.state.customers = CustomerService(
            client,
            CustomerRequestOptions(
                task_queue=settings.customers_task_queue,
                wait=timedelta(seconds=settings.customer_request_wait_seconds),
                rpc_timeout=settings.temporal_rpc_timeout,
                sweep_again=timedelta(seconds=settings.customer_erasure_sweep_again_seconds),
            ),
            app.state.engine,
        )
        # One broadcaster per process feeds every live stream.
        broadcaster = Broadcaster(app.state.engine, StreamOptions.from_settings(settings))
        app.state.broadcaster = broadcaster
        await broadcaster.start()
        try:
            yield
        finally:
            await broadcaster.close()
            app.state.engine.dispose()

    configure_logging(settings)
    app = FastAPI(
        title="orderflow",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(one_value_per_parameter)],
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.api_max_body_bytes,
        max_header_bytes=settings.api_max_header_bytes,
        # The Web UI sends whole history payloads to decode (one may reach 2 MB).
        larger_bodies={"/codec/": settings.codec_max_body_bytes},
    )
    if settings.tracing:
        configure_tracing(settings, "orderflow-api")
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    install_docs(app)
    install_openapi(app, keys=bool(settings.keyring))
    if settings.api_metrics:
        install_metrics(app)
    if settings.cors_origins:
        app.add_middleware(V1Cors, origins=settings.cors_origins)
    # Outermost: every answer gets the headers, a refused preflight and a 413 included.
    app.add_middleware(SecurityHeaders)
    # Each route declares the scope it needs (api/http/deps.py: require_scope); health
    # probes and the docs need none.
    app.include_router(health.router)
    routers = (orders, order_commands, order_events, customers, event_feed, catalog)
    for router in (module.router for module in routers):
        app.include_router(router)
    app.include_router(order_commands.outcomes)
    app.include_router(codec.router)  # guarded by its own dependency (api/codec/access.py)

    @app.get(
        "/v1",
        response_class=HalResponse,
        response_model=Resource,
        tags=["index"],
        dependencies=[require_scope()],  # links only: any valid key
    )
    async def read_index(to: LinksDep) -> HalResponse:
        """The entry point: where a client starts following links."""
        entry = links(
            self=f"{to.base}/v1",
            orders=link(
                to.orders() + "{?accountId,status,restaurantId,driverId,size}", templated=True
            ),
            customers=link(to.customers() + "{?email}", templated=True),
            events=link(to.feed() + "{?after,type,limit}", templated=True),
            stream=link(to.feed_stream(), type="text/event-stream"),
            catalog=f"{to.base}/v1/catalog",
            docs=link(f"{to.base}/docs", type="text/html"),
        )
        return HalResponse(Resource(links=entry))

    # Last, so outermost: the codec's preflights are answered before anything else.
    app.add_middleware(CodecCors, origins=settings.codec_origins)
    return app
