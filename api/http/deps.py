"""FastAPI dependencies as Annotated aliases: settings, services, database, links, and who
is calling (API keys and their scopes)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.engine import Engine

from api.customers.service import CustomerService
from api.http.links import Links, request_base_url
from api.orders.service import OrderService
from orderflow.access import ANONYMOUS, Caller, check_scopes, identify
from orderflow.errors import ScopeMissing, Unauthenticated
from orderflow.settings import Settings

log = logging.getLogger(__name__)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_orders(request: Request) -> OrderService:
    orders: OrderService = request.app.state.orders
    return orders


async def get_customers(request: Request) -> CustomerService:
    customers: CustomerService = request.app.state.customers
    return customers


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
OrdersDep = Annotated[OrderService, Depends(get_orders)]
EngineDep = Annotated[Engine, Depends(get_engine)]
CustomersDep = Annotated[CustomerService, Depends(get_customers)]


async def get_links(request: Request, settings: SettingsDep) -> Links:
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


async def read_caller(request: Request, settings: SettingsDep) -> Caller:
    """Who sent the request: the key given as ``X-API-Key`` (or ``Authorization: Bearer``),
    or anonymous when the service has no keys. A missing or unknown key is Unauthenticated
    (401). Async, though it never waits: a hash is cheaper than a trip to the threadpool."""
    if not settings.keyring:
        return ANONYMOUS
    secret = request.headers.get("x-api-key") or bearer_token(request.headers.get("authorization"))
    key = identify(settings.keyring, secret) if secret else None
    if key is None:
        raise Unauthenticated()
    return Caller.of(key)


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


CallerDep = Annotated[Caller, Depends(read_caller)]


class ScopeCheck:
    """A route's access rule: its caller must hold one of ``scopes`` (admin holds all; with
    no scopes, any known key will do). The OpenAPI document reads ``scopes`` from here."""

    def __init__(self, scopes: Sequence[str]) -> None:
        self.scopes = tuple(scopes)

    async def __call__(self, request: Request, caller: CallerDep) -> Caller:
        if not caller.may(self.scopes):
            log.info("%s refused to key %r: needs %s", request.url.path, caller.name, self.scopes)
            raise ScopeMissing(caller.name, self.scopes)
        return caller


def require_scope(*scopes: str) -> Any:
    """The dependency of an operation that needs one of ``scopes``, e.g.
    ``@router.get("/x", dependencies=[require_scope("orders:read")])``. Without keys
    configured everyone may; with keys, no valid key is a 401 and a key without the scope a
    403 (both problems). ``require_scope()`` admits any valid key."""
    check_scopes(scopes or ["admin"])  # a misspelt scope fails at import, not per request
    return Depends(ScopeCheck(scopes))
