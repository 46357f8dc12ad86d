"""RFC 9457 problem details: the one way this API reports an error, and the one table
that turns domain errors into problem types and statuses."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from functools import cache
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.headers import API_POLICY, SECURITY_HEADERS
from orderflow import errors

PROBLEM_JSON = "application/problem+json"
# A 401's challenge: the two ways a client may present its key.
CHALLENGE = 'ApiKey realm="orderflow", Bearer realm="orderflow"'
log = logging.getLogger(__name__)


class ProblemDetails(BaseModel):
    """An error (application/problem+json, RFC 9457). 409s about commands add
    ``orderStatus`` and ``allowedCommands``; 422s add ``errors`` (name and reason each);
    403s add ``requiredScopes`` (a key with any one of them may)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:orderflow:problem:command-not-allowed",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "prepareOrder is not allowed in status ORDER_CREATED; "
                    "allowed: assignOrder, updateOrderLocation, updateOrderStatus, cancelOrder",
                    "instance": "/v1/orders/1/commands/prepareOrder",
                    "orderStatus": "ORDER_CREATED",
                    "allowedCommands": [
                        "assignOrder",
                        "updateOrderLocation",
                        "updateOrderStatus",
                        "cancelOrder",
                    ],
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems an operation can answer with."""
    return {status: {"model": ProblemDetails, "content": {PROBLEM_JSON: {}}} for status in statuses}


class Problem(Exception):
    """An error a client can act on; ``kind`` becomes the problem ``type`` URI."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


Extensions = Callable[[Any], dict[str, Any]]


def _refusal(error: errors.CommandRefused) -> dict[str, Any]:
    return {"orderStatus": error.status, "allowedCommands": error.allowed}


def _scopes(error: errors.ScopeMissing) -> dict[str, Any]:
    return {"requiredScopes": error.scopes}


def _invalid(error: errors.InvalidInput) -> dict[str, Any]:
    return {"errors": [{"name": name, "reason": reason} for name, reason in error.errors]}


# Domain error -> (status, problem kind, extensions). The most specific class wins.
DOMAIN_PROBLEMS: dict[type[errors.DomainError], tuple[int, str, Extensions | None]] = {
    errors.Unauthenticated: (401, "unauthorized", None),
    errors.ScopeMissing: (403, "insufficient-scope", _scopes),
    errors.NotFound: (404, "not-found", None),
    errors.CustomerErased: (410, "customer-erased", None),
    errors.OrderClosed: (409, "order-closed", _refusal),
    errors.EventLogFull: (409, "event-log-full", _refusal),
    errors.CommandRefused: (409, "command-not-allowed", _refusal),
    errors.DuplicateEmail: (409, "duplicate-email", None),
    errors.VersionMismatch: (412, "precondition-failed", None),
    errors.IdempotencyKeyReused: (422, "idempotency-key-reused", None),
    errors.InvalidInput: (422, "invalid-parameter", _invalid),
    errors.TooManyCommands: (429, "too-many-commands", None),
    errors.Unavailable: (503, "service-unavailable", None),
    errors.CustomerRequestFailed: (500, "internal-error", None),
}


def domain_problem(error: errors.DomainError) -> Problem:
    """The problem a domain error is reported as."""
    for kind in type(error).__mro__:
        if kind in DOMAIN_PROBLEMS:
            status, name, extensions = DOMAIN_PROBLEMS[kind]
            break
    else:
        status, name, extensions = 500, "internal-error", None
    headers = {}
    if isinstance(error, errors.Unavailable | errors.TooManyCommands):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = CHALLENGE
    return Problem(
        status, name, error.detail, headers=headers, **(extensions(error) if extensions else {})
    )


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:orderflow:problem:{problem.kind}",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.extensions,
    }
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


async def _on_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return problem_response(request, error)


async def _on_domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.DomainError)
    return problem_response(request, domain_problem(error))


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        # The router names the methods of the first route whose path matched; a path has
        # as many routes as methods (GET and PATCH /v1/customers/{id}): name them all.
        routed = {m.strip() for m in headers.get("Allow", "").split(",") if m.strip()}
        headers["Allow"] = ", ".join(allowed_methods(request, routed))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
    kinds = {
        401: "unauthorized",
        404: "not-found",
        405: "method-not-allowed",
        413: "body-too-large",
        431: "headers-too-large",
    }
    problem = Problem(
        error.status_code,
        kinds.get(error.status_code, "http-error"),
        str(error.detail),
        headers=headers,
    )
    return problem_response(request, problem)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request, routed: set[str]) -> list[str]:
    """Every method the OpenAPI document gives the request's path, those the router found
    (``routed``: routes outside the document), and OPTIONS (answered here)."""
    methods = {"OPTIONS", *routed}
    for template, item in request.app.openapi()["paths"].items():
        if _template(template).fullmatch(request.url.path):
            methods.update(method.upper() for method in item)
    return [m for m in (*_METHODS, "OPTIONS") if m in methods] + sorted(
        methods - {*_METHODS, "OPTIONS"}
    )


@cache
def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    found = list(error.errors())
    if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in found):
        # /v1/orders/abc names no order: that is "not found", not a bad parameter.
        missing = errors.NotFound(f"{request.url.path} does not exist")
        return problem_response(request, domain_problem(missing))
    if any(_is_malformed_body(e) for e in found):
        types = {e.get("type") for e in found}
        detail = "the request body is not a JSON object"
        if "json_invalid" in types:
            detail = "the request body is not valid JSON"
        elif "missing" in types:
            detail = "the request needs a JSON body"
        return problem_response(request, Problem(400, "malformed-request", detail))
    pairs = [(_location(e), _reason(e)) for e in found]
    return problem_response(request, domain_problem(errors.InvalidInput(pairs)))


def _reason(error: Mapping[str, Any]) -> str:
    # A validator's ValueError reads "Value error, must be …": the reason is what follows.
    return str(error.get("msg", "is invalid")).removeprefix("Value error, ")


def _is_malformed_body(error: Mapping[str, Any]) -> bool:
    location = tuple(error.get("loc", ()))
    return error.get("type") == "json_invalid" or (
        location == ("body",)
        and error.get("type") in {"model_attributes_type", "dict_type", "missing"}
    )


def _location(error: Mapping[str, Any]) -> str:
    # ("body", "accountId") -> "accountId"; ("query", "size") -> "size"
    location = [str(part) for part in error.get("loc", ())]
    return ".".join(location[1:] or location) or "request"


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    # Answered outside every middleware (Starlette's server-error handler): harden it here.
    problem = Problem(
        500,
        "internal-error",
        "an unexpected error occurred; it has been logged",
        headers={**SECURITY_HEADERS, "Content-Security-Policy": API_POLICY},
    )
    return problem_response(request, problem)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(errors.DomainError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)
