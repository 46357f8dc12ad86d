"""The message catalog: generated from code, served at /v1/catalog, exported as an
EventCatalog folder, and every real published event validates against its schema."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from api.published.catalog import build_catalog
from api.published.catalog_export import export
from tests.helpers import WALK, command, create_order, eventually, register_customer

ROOT = Path(__file__).resolve().parent.parent
# The official EventCatalog linter, pinned; `npm ci --prefix .ci/eventcatalog` installs it.
LINT = ROOT / ".ci" / "eventcatalog" / "lint"
SEMVER = r"^\d+\.\d+\.\d+$"
MESSAGE_FRONT_MATTER = {
    "type": "object",
    "required": ["id", "name", "version", "summary", "owners", "schemaPath"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "version": {"type": "string", "pattern": SEMVER},
        "owners": {"type": "array", "items": {"enum": ["customer-platform", "order-platform"]}},
    },
}
POINTERS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "version"],
        "properties": {"version": {"pattern": SEMVER}},
    },
}
SERVICE_FRONT_MATTER = {
    "type": "object",
    "required": ["id", "name", "version", "summary", "owners", "sends", "receives"],
    "properties": {"sends": POINTERS, "receives": POINTERS},
}


def front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text()
    assert text.startswith("---\n")
    matter: dict[str, Any] = yaml.safe_load(text.split("---\n")[1])
    return matter


async def test_the_catalog_lists_every_message_with_a_valid_schema(http: httpx.AsyncClient) -> None:
    catalog = (await http.get("/v1/catalog")).json()
    messages = {m["name"]: m for m in catalog["messages"]}
    assert catalog["services"] == ["customer-api", "order-api"]
    for name in ("RegisterCustomer", "UpdateCustomer", "GetCustomer", "CustomerRegistered",
                 "CustomerUpdated", "assignOrder", "cancelOrder", "OrderCreated", "OrderAssigned",
                 "OrderLocationUpdated", "GetOrder"):  # fmt: skip
        assert name in messages
    assert messages["RegisterCustomer"]["owner"] == "customer-platform"
    assert messages["assignOrder"]["owner"] == "order-platform"
    assert {m["kind"] for m in messages.values()} == {"command", "query", "event"}
    for message in messages.values():
        jsonschema.Draft202012Validator.check_schema(message["schema"])
        assert message["version"] == "1.0.0" and message["summary"]


async def test_real_events_validate_against_their_published_schemas(
    http: httpx.AsyncClient,
) -> None:
    customer = await register_customer(http, phone="+1 555 0100", address={"city": "Paris"})
    await http.patch(customer["_links"]["self"]["href"], json={"phone": None, "lastName": "Curie"})
    order = await create_order(http, customer["customerId"])
    await command(http, order, "updateOrderLocation", lat=48.85, lon=2.35)
    for name, params, _ in WALK:
        await command(http, order, name, **params)
    other = await create_order(http, customer["customerId"])
    await command(http, other, "updateOrderStatus", status="ORDER_PREPARING")
    await command(http, other, "cancelOrder", reason="kitchen closed")
    sources = {
        f"/v1/customers/{customer['customerId']}",
        f"/v1/orders/{order['orderId']}",
        f"/v1/orders/{other['orderId']}",
    }

    async def all_published() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        cursor = 0
        while True:
            page = (await http.get("/v1/events", params={"after": cursor, "limit": 500})).json()
            if not page["_embedded"]["events"]:
                break
            events += [e for e in page["_embedded"]["events"] if e["source"] in sources]
            cursor = int(page["_embedded"]["events"][-1]["sequence"])
        assert len(events) == 2 + 1 + 1 + len(WALK) + 3, " ".join(
            e["source"] + e["type"] for e in events
        )
        return events

    events = await eventually(all_published)
    assert len({e["type"] for e in events}) >= 12
    for event in events:
        schema = (await http.get(event["dataschema"])).json()
        jsonschema.validate(event["data"], schema)
    assert (await http.get("/v1/catalog/events/NoSuchEvent/schema")).status_code == 404


def test_request_examples_and_bad_requests_against_command_schemas() -> None:
    schemas = {m.name: m.schema for m in build_catalog()}
    register = schemas["RegisterCustomer"]
    for example in register.get("examples", []):
        jsonschema.validate(example, register)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"firstName": "A", "lastName": "B", "email": "x@y.z", "age": 3}, register
        )
    jsonschema.validate({"restaurantId": 101}, schemas["assignOrder"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({}, schemas["assignOrder"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"lat": 91, "lon": 0}, schemas["updateOrderLocation"])


def test_the_eventcatalog_export_is_complete_and_consistent(tmp_path: Path) -> None:
    written = export(tmp_path)
    messages = build_catalog()
    assert len(written) == 1 + 2 + 2 + 2 * len(messages)  # linter config, teams, services
    folders = {"command": "commands", "query": "queries", "event": "events"}
    for message in messages:
        folder = tmp_path / folders[message.kind] / message.name
        matter = front_matter(folder / "index.md")
        jsonschema.validate(matter, MESSAGE_FRONT_MATTER)
        assert matter["id"] == message.name
        schema = json.loads((folder / matter["schemaPath"]).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema == message.schema
    known = {m.name for m in messages}
    teams = {front_matter(p)["id"] for p in (tmp_path / "teams").glob("*.md")}
    for team in (tmp_path / "teams").glob("*.md"):
        assert front_matter(team)["summary"] and front_matter(team)["name"]
    for service in ("customer-api", "order-api"):
        matter = front_matter(tmp_path / "services" / service / "index.md")
        jsonschema.validate(matter, SERVICE_FRONT_MATTER)
        assert {p["id"] for p in matter["sends"] + matter["receives"]} <= known
        assert set(matter["owners"]) <= teams


def test_the_export_passes_the_eventcatalog_linter(tmp_path: Path) -> None:
    """No error and no warning from the official linter (with type checks on); CI installs it."""
    if not (LINT.parent / "node_modules" / ".bin" / "eventcatalog-linter").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI installs the linter first: npm ci --prefix .ci/eventcatalog")
        pytest.skip("the EventCatalog linter is not installed: npm ci --prefix .ci/eventcatalog")
    export(tmp_path / "eventcatalog")
    result = subprocess.run(
        [str(LINT), str(tmp_path / "eventcatalog")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No problems found!" in result.stdout

    # The check has teeth: a message without a name fails it.
    broken = tmp_path / "eventcatalog" / "events" / "OrderCreated" / "index.md"
    broken.write_text(broken.read_text().replace('name: "OrderCreated"\n', ""))
    result = subprocess.run(
        [str(LINT), str(tmp_path / "eventcatalog")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "schema/valid-type" in result.stdout, result.stdout
    # …and so does a folder with nothing in it (the linter itself would exit 0).
    (tmp_path / "empty").mkdir()
    result = subprocess.run([str(LINT), str(tmp_path / "empty")], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
