"""Scoped API keys over real HTTP: no key or a wrong one is 401, a key without the route's
scope 403 (changing nothing), the right scope (or admin) gets through; every route says
which scope it needs, and the OpenAPI document says so when keys are set."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from fastapi.routing import APIRoute, iter_route_contexts

from api.http.openapi_scopes import route_scopes
from api.main import create_app
from orderflow.settings import Settings
from tests.api_keys import KEYS, SECRETS, as_bearer, as_key, keyed_settings
from tests.helpers import assert_problem, isolated_settings, running_api


@pytest_asyncio.fixture
async def keyed(settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(keyed_settings(settings)) as http:
        yield http


@dataclass
class Call:
    method: str
    url: str
    body: Callable[[], Any] | None = None


async def open_to(
    http: httpx.AsyncClient, calls: list[Call], allowed: set[str], scopes: list[str]
) -> None:
    """Every key in ``allowed`` (and admin) gets through; every other key is refused 403
    naming ``scopes``."""
    for call in calls:
        for name in KEYS:
            body = call.body() if call.body else None
            headers = as_key(name)
            async with http.stream(call.method, call.url, json=body, headers=headers) as response:
                if response.status_code >= 400 or not call.url.endswith("/stream"):
                    await response.aread()  # a live stream that started is closed unread
                if name in allowed or name == "ops":
                    assert response.status_code < 400, (call, name, response.status_code)
                else:
                    problem = assert_problem(response, 403, "insufficient-scope")
                    assert problem["requiredScopes"] == scopes, problem
                    assert name in problem["detail"]


async def test_no_key_or_a_wrong_key_is_401_everywhere_but_health_and_docs(
    keyed: httpx.AsyncClient,
) -> None:
    document = (await keyed.get("/openapi.json")).json()
    values = {
        "{order_id}": "1",
        "{customer_id}": "1",
        "{event_id}": "1",
        "{command_id}": "c",
        "{request_id}": "r",
        "{name}": "OrderCreated",
    }
    guarded = [("GET", "/metrics")]
    for template, item in document["paths"].items():
        for method, operation in item.items():
            assert template.startswith(("/v1", "/codec")) == ("security" in operation), template
            if "security" in operation:
                url = template
                for name, value in values.items():
                    url = url.replace(name, value)
                guarded.append((method.upper(), url))
    assert len(guarded) > 30
    wrong = [
        {},
        {"X-API-Key": "wrong"},
        {"X-API-Key": ""},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {SECRETS['ops']}"},  # the right secret, the wrong scheme
    ]
    for method, url in guarded:
        for headers in wrong:
            response = await keyed.request(method, url, headers=headers, json={})
            assert_problem(response, 401, "unauthorized")
            challenge = response.headers["www-authenticate"]
            assert "ApiKey" in challenge and "Bearer" in challenge
    for public in ("/healthz", "/readyz", "/docs", "/openapi.json", "/docs-assets/swagger-ui.css"):
        assert (await keyed.get(public)).status_code == 200, public


async def test_each_scope_opens_its_routes_and_no_others(keyed: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    created = await keyed.post(
        "/v1/customers",
        json={"firstName": "Ada", "lastName": "L", "email": f"{uuid.uuid4()}@example.com"},
        headers={**as_key("crm"), "Idempotency-Key": key},
    )
    assert created.status_code == 201, created.text
    customer = created.json()["customerId"]
    placed = await keyed.post("/v1/orders", json={"accountId": customer}, headers=as_key("shop"))
    assert placed.status_code == 201, placed.text
    order = placed.json()["orderId"]
    moved = await keyed.put(
        f"/v1/orders/{order}/commands/updateOrderLocation?lat=1&lon=2",
        headers={**as_key("shop"), "Idempotency-Key": "first-move"},
    )
    assert moved.status_code == 200, moved.text

    def email() -> dict[str, Any]:
        return {"firstName": "Ada", "lastName": "L", "email": f"{uuid.uuid4()}@example.com"}

    location = f"/v1/orders/{order}/commands/updateOrderLocation?lat=3&lon=4"
    events = f"/v1/orders/{order}/events"
    before = (await keyed.get(events, headers=as_key("reader"))).json()["page"]["totalElements"]
    await open_to(
        keyed,
        [
            Call("POST", "/v1/orders", lambda: {"accountId": customer}),
            Call("PUT", location),
            Call("POST", location),
            Call("POST", f"/v1/orders/{order}/events", lambda: {"type": "ORDER_LOCATION_UPDATED", "lat": 5.0, "lon": 6.0}),
        ],
        {"shop"},
        ["orders:write"],
    )  # fmt: skip
    await open_to(
        keyed,
        [
            Call("GET", f"/v1/orders/{order}"),
            Call("GET", f"/v1/orders?accountId={customer}"),
            Call("GET", f"/v1/orders/{order}/commands"),
            Call("GET", f"/v1/orders/{order}/events"),
            Call("GET", f"/v1/orders/{order}/events/1"),
        ],
        {"reader"},
        ["orders:read"],
    )
    # A command's sender may follow its 202 to the outcome, like a reader.
    outcome = Call("GET", f"/v1/orders/{order}/outcomes/first-move")
    await open_to(keyed, [outcome], {"reader", "shop"}, ["orders:read", "orders:write"])
    await open_to(
        keyed,
        [
            Call("POST", "/v1/customers", email),
            Call("PATCH", f"/v1/customers/{customer}", lambda: {"lastName": "Byron"}),
        ],
        {"crm"},
        ["customers:write"],
    )
    await open_to(
        keyed,
        [
            Call("GET", f"/v1/customers/{customer}"),
            Call("GET", f"/v1/customers?email={created.json()['email']}"),
            Call("GET", f"/v1/customers/{customer}/events"),
        ],
        {"crm", "crm-reader"},
        ["customers:read"],
    )
    request = Call("GET", f"/v1/customers/requests/register-{key}")
    await open_to(keyed, [request], {"crm", "crm-reader"}, ["customers:read", "customers:write"])
    await open_to(
        keyed,
        [
            Call("GET", "/v1/events?limit=1"),
            Call("GET", "/v1/events/stream"),
            Call("GET", "/v1/catalog"),
            Call("GET", "/v1/catalog/events/OrderCreated/schema"),
        ],
        {"feed"},
        ["events:read"],
    )
    await open_to(keyed, [Call("GET", "/metrics")], {"prom"}, ["metrics:read"])
    await open_to(keyed, [Call("GET", "/v1")], set(KEYS), [])  # links only: any key

    # The refused writes changed nothing: the order moved only by the allowed ones (shop's
    # and ops' three calls each), and every refusal left it as it was.
    after = (await keyed.get(events, headers=as_key("reader"))).json()["page"]["totalElements"]
    assert after == before + 2 * 3
    assert (await keyed.get(f"/v1/orders/{order}", headers=as_bearer("reader"))).status_code == 200


def test_every_route_declares_its_scope(settings: Settings) -> None:
    """Only health probes and the docs are open; everything else names what it needs."""
    app = create_app(keyed_settings(settings))
    scoped = {path for path, _ in route_scopes(app)}
    routes = {
        route.path_format
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
    }
    # The codec's sign-in page and form check the key they are given themselves.
    sign_in = {"/codec", "/codec/sign-in", "/codec/sign-out"}
    assert routes - scoped == {"/healthz", "/readyz", "/docs", *sign_in}
    assert {"/metrics", "/v1", "/v1/orders", "/v1/events/stream", "/codec/decode"} <= scoped


def test_the_document_asks_for_keys_only_when_keys_are_set(settings: Settings) -> None:
    keyed = create_app(keyed_settings(settings)).openapi()
    schemes = keyed["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["scheme"] == "bearer"
    place = keyed["paths"]["/v1/orders"]["post"]
    assert place["security"] == [{"ApiKey": ["orders:write"]}, {"Bearer": ["orders:write"]}]
    assert {"401", "403"} <= place["responses"].keys()
    assert "`orders:write`" in place["description"]
    assert "403" not in keyed["paths"]["/v1"]["get"]["responses"]  # any key will do
    open_ = create_app(isolated_settings(settings)).openapi()
    assert "securitySchemes" not in open_["components"]
    for item in open_["paths"].values():
        for operation in item.values():
            assert "security" not in operation
            assert not {"401", "403"} & operation["responses"].keys()


async def test_a_key_is_checked_before_its_scope_and_both_answers_are_hardened(
    keyed: httpx.AsyncClient,
) -> None:
    for headers, status in (({}, 401), (as_key("reader"), 403)):
        response = await keyed.get("/v1/events", headers=headers)
        assert response.status_code == status
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
