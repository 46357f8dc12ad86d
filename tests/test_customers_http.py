"""The Customer API over real HTTP: register, read, find, update, events, and the errors."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem, register_customer


def unique_email(name: str = "grace") -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}@example.com"


async def test_register_and_read_a_customer(http: httpx.AsyncClient) -> None:
    email = unique_email()
    body = {
        "firstName": "Grace",
        "lastName": "Hopper",
        "email": email,
        "phone": "+1 202 555 0100",
        "address": {
            "street": "1 Navy Way",
            "city": "Arlington",
            "postalCode": "22202",
            "country": "US",
        },
    }
    response = await http.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/hal+json"
    customer = response.json()
    assert response.headers["location"] == customer["_links"]["self"]["href"]
    assert response.headers["etag"] == '"1"'
    assert customer["version"] == 1 and customer["email"] == email
    assert customer["address"] == body["address"] and customer["phone"] == body["phone"]
    assert customer["createdAt"] == customer["lastModified"] > 0
    cid = customer["customerId"]
    assert customer["_links"]["orders"]["href"].endswith(f"/v1/orders?accountId={cid}")
    assert customer["_links"]["events"]["href"].endswith(f"/v1/customers/{cid}/events")

    read = await http.get(customer["_links"]["self"]["href"])
    assert read.status_code == 200 and read.json() == customer and read.headers["etag"] == '"1"'
    orders = await http.get(customer["_links"]["orders"]["href"])
    assert orders.status_code == 200 and orders.json()["_embedded"]["orders"] == []


async def test_fields_that_are_not_set_are_left_out(http: httpx.AsyncClient) -> None:
    customer = await register_customer(http)
    assert "phone" not in customer and "address" not in customer


async def test_find_by_email_in_any_case(http: httpx.AsyncClient) -> None:
    email = unique_email("Mixed.Case")
    customer = await register_customer(http, email=email)
    found = (await http.get("/v1/customers", params={"email": email.upper()})).json()
    assert [c["customerId"] for c in found["_embedded"]["customers"]] == [customer["customerId"]]
    none = (await http.get("/v1/customers", params={"email": unique_email()})).json()
    assert none["_embedded"]["customers"] == []


@pytest.mark.parametrize(
    ("change", "bad"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"firstName": "   "}, "firstName"),
        ({"lastName": ""}, "lastName"),
        ({"phone": "call me"}, "phone"),
        ({"nickname": "Amazing Grace"}, "nickname"),
        ({"address": {"planet": "Earth"}}, "address.planet"),
        ({"firstName": "x" * 101}, "firstName"),
    ],
)
async def test_invalid_registrations_are_422_and_write_nothing(
    http: httpx.AsyncClient, change: dict[str, Any], bad: str
) -> None:
    email = unique_email()
    body = {"firstName": "Grace", "lastName": "Hopper", "email": email, **change}
    problem = assert_problem(await http.post("/v1/customers", json=body), 422, "invalid-parameter")
    assert bad in [e["name"] for e in problem["errors"]]
    if "email" not in change:
        found = (await http.get("/v1/customers", params={"email": email})).json()
        assert found["_embedded"]["customers"] == []


async def test_a_duplicate_email_is_a_conflict_whatever_its_case(http: httpx.AsyncClient) -> None:
    email = unique_email()
    first = await register_customer(http, email=email)
    again = await http.post(
        "/v1/customers", json={"firstName": "Other", "lastName": "Person", "email": email.upper()}
    )
    problem = assert_problem(again, 409, "duplicate-email")
    assert problem["detail"] == "a customer with this email is already registered"
    events = (await http.get(first["_links"]["events"]["href"])).json()
    assert events["page"]["totalElements"] == 1


async def test_update_is_a_merge_patch_with_versions(http: httpx.AsyncClient) -> None:
    customer = await register_customer(
        http, phone="+44 1234 567", address={"city": "London", "country": "GB"}
    )
    href = customer["_links"]["self"]["href"]
    new_email = unique_email("ada.new")
    patched = await http.patch(
        href,
        json={"email": new_email, "phone": None, "address": {"city": "Cambridge"}},
        headers={"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["version"] == 2 and patched.headers["etag"] == '"2"'
    assert body["email"] == new_email and "phone" not in body
    assert body["address"] == {"city": "Cambridge", "country": "GB"}
    assert body["firstName"] == customer["firstName"] and body["lastModified"] >= body["createdAt"]
    assert (await http.get(href)).json() == body

    stale = await http.patch(href, json={"lastName": "Byron"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412, "precondition-failed")
    assert (await http.get(href)).json()["lastName"] == customer["lastName"]
    cleared = await http.patch(href, json={"address": None}, headers={"If-Match": 'W/"2"'})
    assert cleared.status_code == 200 and "address" not in cleared.json()

    events = (await http.get(customer["_links"]["events"]["href"])).json()["_embedded"]["events"]
    assert [e["type"] for e in events] == [
        "CustomerRegistered",
        "CustomerUpdated",
        "CustomerUpdated",
    ]
    assert events[1]["data"]["changes"] == {
        "email": new_email, "phone": None, "address": {"city": "Cambridge"},
    }  # fmt: skip
    assert events[2]["data"]["version"] == 3


async def test_update_errors(http: httpx.AsyncClient) -> None:
    taken = await register_customer(http)
    customer = await register_customer(http)
    href = customer["_links"]["self"]["href"]
    assert_problem(
        await http.patch(href, json={"email": taken["email"].upper()}), 409, "duplicate-email"
    )
    assert_problem(await http.patch(href, json={"firstName": None}), 422, "invalid-parameter")
    assert_problem(await http.patch(href, json={"colour": "red"}), 422, "invalid-parameter")
    assert_problem(
        await http.patch("/v1/customers/987654321", json={"lastName": "X"}), 404, "not-found"
    )
    assert_problem(await http.get("/v1/customers/987654321"), 404, "not-found")
    assert_problem(
        await http.patch(href, json={"lastName": "X"}, headers={"If-Match": "v7"}),
        412,
        "precondition-failed",
    )
    unchanged = await http.patch(href, json={})
    assert unchanged.status_code == 200 and unchanged.json()["version"] == 1
    same = await http.patch(href, json={"firstName": customer["firstName"]})
    assert same.status_code == 200 and same.json()["version"] == 1


async def test_customer_events_are_cloudevents(http: httpx.AsyncClient) -> None:
    customer = await register_customer(http)
    events = (await http.get(customer["_links"]["events"]["href"])).json()["_embedded"]["events"]
    [registered] = events
    assert registered["specversion"] == "1.0" and registered["type"] == "CustomerRegistered"
    assert registered["source"] == f"/v1/customers/{customer['customerId']}"
    assert registered["subject"] == str(customer["customerId"])
    assert (
        registered["datacontenttype"] == "application/json"
        and registered["messageversion"] == "1.0.0"
    )
    assert registered["time"].endswith("Z") and registered["id"]
    assert registered["data"]["email"] == customer["email"]
    assert_problem(await http.get("/v1/customers/987654321/events"), 404, "not-found")


async def test_idempotent_registration(http: httpx.AsyncClient) -> None:
    email = unique_email()
    body = {"firstName": "Ida", "lastName": "Rhodes", "email": email}
    key = {"Idempotency-Key": f"register-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(http.post("/v1/customers", json=body, headers=key) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["customerId"] for r in responses}) == 1
    again = await http.post("/v1/customers", json=body, headers=key)
    assert (
        again.status_code == 201 and again.json()["customerId"] == responses[0].json()["customerId"]
    )
    events = (await http.get(again.json()["_links"]["events"]["href"])).json()
    assert events["page"]["totalElements"] == 1


async def test_orders_belong_to_registered_customers(http: httpx.AsyncClient) -> None:
    problem = assert_problem(
        await http.post("/v1/orders", json={"accountId": 987654321}), 422, "invalid-parameter"
    )
    assert problem["detail"] == "customer 987654321 is not registered"
    assert problem["errors"][0]["name"] == "accountId"
    customer = await register_customer(http)
    order = await http.post("/v1/orders", json={"accountId": customer["customerId"]})
    assert order.status_code == 201
    linked = await http.get(order.json()["_links"]["customer"]["href"])
    assert linked.json()["customerId"] == customer["customerId"]
