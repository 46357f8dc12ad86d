"""The OpenAPI document as the API really answers. FastAPI's own document promises less:

- it documents validation errors as plain JSON, but every error here is a problem;
- it knows nothing of the statuses every request can meet on its way in: 413 and 431 for
  oversized bodies and headers, 400 for bodies that are not JSON objects, 503 when Temporal
  or the database is down;
- it does not know who may call what: each operation's scope is read from its
  ``require_scope`` dependency and stated in its description; when API keys are set, the
  operation requires a key (X-API-Key, or a bearer token) holding it, and may answer 401 and
  403. Without keys nothing is required and neither status can happen, so neither is listed;
- one route runs every command, so it cannot say which parameters each command takes:
  here each command is an operation of its own (`…/commands/assignOrder?restaurantId=`),
  with the parameters of its row of the state machine;
- it has no links: here they say where the ids in a response lead, so a client (and
  schemathesis's stateful tests) can follow them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from api.codec.access import CODEC_SCOPES, require_codec_access
from api.http.deps import ScopeCheck
from api.http.params import parameter_schema
from api.http.problems import PROBLEM_JSON, ProblemDetails
from workflows.order_machine import COMMANDS

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
_COMMAND_PATH = "/v1/orders/{order_id}/commands/{command}"
# Operations that touch neither Temporal nor the database never answer 503.
_NO_DEPENDENCY = ("/v1", "/v1/catalog", "/v1/catalog/events/{name}/schema")


def install_openapi(app: FastAPI, *, keys: bool) -> None:
    """The corrected document; ``keys``: whether the API is configured with API keys."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _document_scopes(document, route_scopes(app), keys=keys)
            namespace = app.state.settings.temporal_namespace
            app.openapi_schema = _corrected(document, namespace=namespace)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# The two ways to present a key (api/http/deps.py: read_caller).
SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {"type": "http", "scheme": "bearer", "description": "The same key, as a token"},
}


def route_scopes(app: FastAPI) -> dict[tuple[str, str], tuple[str, ...]]:
    """(path, method) → the scopes its ``require_scope`` asks for, for every route that has
    one (a route without is open to anyone)."""
    found = {}
    for route in iter_route_contexts(app.routes):
        dependant = route.dependant if isinstance(route.original_route, APIRoute) else None
        if dependant is None or route.path_format is None:
            continue
        checks = [_scopes_of(d.call) for d in _dependencies(dependant)]
        for scopes in [c for c in checks if c is not None][:1]:
            for method in route.methods or ():
                found[(route.path_format, method.lower())] = scopes
    return found


def _scopes_of(call: object) -> tuple[str, ...] | None:
    """The scopes a dependency asks for, if it is an access rule: a route's ScopeCheck, or
    the codec's own (it also takes the sign-in cookie)."""
    if isinstance(call, ScopeCheck):
        return call.scopes
    return CODEC_SCOPES if call is require_codec_access else None


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _document_scopes(
    document: dict[str, Any], scopes: dict[tuple[str, str], tuple[str, ...]], *, keys: bool
) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            needed = scopes.get((path, method))
            if needed is None:
                continue
            names = " or ".join(f"`{s}`" for s in needed) or "any valid key"
            admin = " (or `admin`)" if needed and "admin" not in needed else ""
            note = f"**Scope:** {names}{admin}, when API keys are set."
            operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}"
            if not keys:
                continue
            operation["security"] = [{name: list(needed)} for name in SECURITY_SCHEMES]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", _problem("No valid API key (`WWW-Authenticate` says how)"))
            if needed:
                responses.setdefault("403", _problem("The key lacks the scope (`requiredScopes`)"))
    if keys:
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)


def _corrected(document: dict[str, Any], *, namespace: str) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ProblemDetails", ProblemDetails.model_json_schema())
    _one_operation_per_command(document["paths"])
    _name_the_namespace(document["paths"], namespace)
    for path, item in document["paths"].items():
        for operation in item.values():
            _document_statuses(path, operation)
    _add_links(document["paths"])
    _name_the_catalog_events(document["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _document_statuses(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = _problem(responses["422"].get("description", "Invalid input"))
    # The request limits apply to every request, whatever its method.
    responses.setdefault("413", _problem("The body is too large"))
    responses.setdefault("431", _problem("The request's headers are too large"))
    if "requestBody" in operation:
        responses.setdefault("400", _problem("The body is not a JSON object"))
    if path.startswith("/v1") and path not in _NO_DEPENDENCY:
        responses.setdefault("503", _problem("Temporal or the database is unreachable"))
    for status, response in responses.items():
        if status.startswith(("4", "5")) and "content" not in response:
            response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
        elif PROBLEM_JSON in response.get("content", {}):
            response["content"][PROBLEM_JSON].setdefault("schema", _PROBLEM_REF)


def _one_operation_per_command(paths: dict[str, Any]) -> None:
    """``…/commands/{command}`` becomes one path per command, with its parameters (other
    names are 404, like any path the document does not list)."""
    generic = paths.pop(_COMMAND_PATH)
    for name, command in COMMANDS.items():
        item: dict[str, Any] = {}
        for method, operation in generic.items():
            specific = copy.deepcopy(operation)
            specific["operationId"] = f"{method}_{name}"
            specific["summary"] = f"{command.summary} ({name})"
            specific["parameters"] = [
                p for p in specific.get("parameters", []) if p["name"] != "command"
            ] + [
                {
                    "name": p.name,
                    "in": "query",
                    "required": p.required,
                    "schema": parameter_schema(p),
                    "description": p.description,
                }
                for p in command.parameters
            ]
            item[method] = specific
        paths[_COMMAND_PATH.replace("{command}", name)] = item


# A link's target: path, method, parameters and request body taken from the response.
_Target = tuple[str, str, dict[str, str], dict[str, str] | None]


def _add_links(paths: dict[str, Any]) -> None:
    """Where the ids of a response lead (OpenAPI links)."""
    order = {"order_id": "$response.body#/orderId"}
    order_targets: dict[str, _Target] = {
        "ReadOrder": ("/v1/orders/{order_id}", "get", order, None),
        "ReadCommands": ("/v1/orders/{order_id}/commands", "get", order, None),
        "ReadEvents": ("/v1/orders/{order_id}/events", "get", order, None),
        "AppendEvent": ("/v1/orders/{order_id}/events", "post", order, None),
        **{
            f"Run{name[0].upper()}{name[1:]}": (
                _COMMAND_PATH.replace("{command}", name),
                "put",
                order,
                None,
            )
            for name in COMMANDS
        },
    }
    customer = {"customer_id": "$response.body#/customerId"}
    customer_targets: dict[str, _Target] = {
        "ReadCustomer": ("/v1/customers/{customer_id}", "get", customer, None),
        "UpdateCustomer": ("/v1/customers/{customer_id}", "patch", customer, None),
        "ReadCustomerEvents": ("/v1/customers/{customer_id}/events", "get", customer, None),
        "PlaceOrder": ("/v1/orders", "post", {}, {"accountId": "$response.body#/customerId"}),
    }
    event = {**order, "event_id": "$response.body#/eventId"}
    event_targets: dict[str, _Target] = {
        "ReadEvent": ("/v1/orders/{order_id}/events/{event_id}", "get", event, None)
    }
    sources: list[tuple[str, str, str, dict[str, _Target]]] = [
        ("/v1/orders", "post", "201", order_targets),
        ("/v1/orders/{order_id}", "get", "200", order_targets),
        ("/v1/customers", "post", "201", customer_targets),
        ("/v1/customers/{customer_id}", "get", "200", customer_targets),
        ("/v1/orders/{order_id}/events", "post", "201", event_targets),
    ]
    for path, method, status, targets in sources:
        response = paths[path][method]["responses"][status]
        response["links"] = {
            name: _link(paths[target][target_method]["operationId"], parameters, body)
            for name, (target, target_method, parameters, body) in targets.items()
        }


def _link(
    operation_id: str, parameters: dict[str, str], body: dict[str, str] | None
) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": operation_id}
    if parameters:
        link["parameters"] = parameters
    if body:
        link["requestBody"] = body
    return link


def _name_the_catalog_events(paths: dict[str, Any]) -> None:
    """The event names the catalog knows (any other is 404)."""
    from api.published.catalog import build_catalog  # the catalog's routes import this kit

    names = sorted(m.name for m in build_catalog() if m.kind == "event")
    for parameter in paths["/v1/catalog/events/{name}/schema"]["get"].get("parameters", []):
        if parameter["name"] == "name":
            parameter["schema"] = {"type": "string", "enum": names}


def _name_the_namespace(paths: dict[str, Any], namespace: str) -> None:
    """The codec serves the API's own namespace (any other is 422)."""
    for item in paths.values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"] == "X-Namespace":
                    parameter["schema"] = {"type": "string", "enum": [namespace]}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}
