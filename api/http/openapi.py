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
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.http.openapi_links import COMMAND_PATH, add_links
from api.http.openapi_scopes import document_scopes, route_scopes
from api.http.params import parameter_schema
from api.http.problems import PROBLEM_JSON, PROBLEM_REF, ProblemDetails, documented_problem
from workflows.order_machine import COMMANDS

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
            document_scopes(document, route_scopes(app), keys=keys)
            namespace = app.state.settings.temporal_namespace
            app.openapi_schema = _corrected(document, namespace=namespace)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _corrected(document: dict[str, Any], *, namespace: str) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ProblemDetails", ProblemDetails.model_json_schema())
    _one_operation_per_command(document["paths"])
    _name_the_namespace(document["paths"], namespace)
    for path, item in document["paths"].items():
        for operation in item.values():
            _document_statuses(path, operation)
    add_links(document["paths"])
    _name_the_catalog_events(document["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _document_statuses(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = documented_problem(responses["422"].get("description", "Invalid input"))
    # The request limits apply to every request, whatever its method.
    responses.setdefault("413", documented_problem("The body is too large"))
    responses.setdefault("431", documented_problem("The request's headers are too large"))
    if "requestBody" in operation:
        responses.setdefault("400", documented_problem("The body is not a JSON object"))
    if path.startswith("/v1") and path not in _NO_DEPENDENCY:
        responses.setdefault("503", documented_problem("Temporal or the database is unreachable"))
    for status, response in responses.items():
        if status.startswith(("4", "5")) and "content" not in response:
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
        elif PROBLEM_JSON in response.get("content", {}):
            response["content"][PROBLEM_JSON].setdefault("schema", PROBLEM_REF)


def _one_operation_per_command(paths: dict[str, Any]) -> None:
    """``…/commands/{command}`` becomes one path per command, with its parameters (other
    names are 404, like any path the document does not list)."""
    generic = paths.pop(COMMAND_PATH)
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
        paths[COMMAND_PATH.replace("{command}", name)] = item


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
