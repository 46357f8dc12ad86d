"""RFC 9457 problem details: the one way this API reports an error, and the one table
that turns domain errors into problem types and statuses (problem_handlers.py answers
every error with one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from orderflow import errors

PROBLEM_JSON = "application/problem+json"
# A 401's challenge: the two ways a client may present its key.
CHALLENGE = 'ApiKey realm="orderflow", Bearer realm="orderflow"'


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


PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}


def documented_problem(description: str) -> dict[str, Any]:
    """A problem response as the corrected OpenAPI document lists it (api/http/openapi.py)."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


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
