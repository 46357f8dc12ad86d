"""The exception handlers: every error the API meets, a domain error, a request that does
not validate, an HTTP error of the router or an unexpected exception, is answered as a
problem (problems.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.headers import API_POLICY, SECURITY_HEADERS
from api.http.problems import Problem, domain_problem, problem_response
from orderflow import errors

log = logging.getLogger(__name__)


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
