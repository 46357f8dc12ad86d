"""FastAPI dependencies as Annotated aliases: settings, services, database, links, API keys."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.engine import Engine

from api.customers.service import CustomerService
from api.http.links import Links, request_base_url
from api.http.problems import Problem
from api.orders.service import OrderService
from orderflow.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_orders(request: Request) -> OrderService:
    orders: OrderService = request.app.state.orders
    return orders


def get_customers(request: Request) -> CustomerService:
    customers: CustomerService = request.app.state.customers
    return customers


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
OrdersDep = Annotated[OrderService, Depends(get_orders)]
EngineDep = Annotated[Engine, Depends(get_engine)]
CustomersDep = Annotated[CustomerService, Depends(get_customers)]


def get_links(request: Request, settings: SettingsDep) -> Links:
    return Links(
        request_base_url(request, settings.public_base_url),
        ui_url=settings.ui_url,
        namespace=settings.temporal_namespace,
    )


LinksDep = Annotated[Links, Depends(get_links)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A retried request with the same key returns the first outcome.",
    ),
]
Prefer = Annotated[
    str | None,
    Header(description="`respond-async`: answer 202 once the command is durably recorded."),
]


def wants_async(prefer: str | None) -> bool:
    return prefer is not None and any(
        part.strip().lower() == "respond-async" for part in prefer.replace(";", ",").split(",")
    )


def require_api_key(
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header(description="Required when API keys are set.")] = None,
) -> None:
    """Checks ``X-API-Key`` when the service is configured with API keys."""
    if not settings.api_keys:
        return
    given = (x_api_key or "").encode()
    if not any(
        secrets.compare_digest(given, k.get_secret_value().encode()) for k in settings.api_keys
    ):
        raise Problem(
            401,
            "unauthorized",
            "a valid X-API-Key header is required",
            headers={"WWW-Authenticate": "ApiKey"},
        )
