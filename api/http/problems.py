"""RFC 9457 problem details: the one way this API reports an error."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


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


def not_found(detail: str) -> Problem:
    return Problem(404, "not-found", detail)


def invalid_parameters(errors: Sequence[tuple[str, str]], detail: str | None = None) -> Problem:
    """422 naming every bad parameter, e.g. ``restaurantId is required``."""
    return Problem(
        422,
        "invalid-parameter",
        detail or "; ".join(f"{name} {reason}" for name, reason in errors),
        errors=[{"name": name, "reason": reason} for name, reason in errors],
    )


def unavailable(detail: str, *, retry_after: int = 5) -> Problem:
    return Problem(503, "service-unavailable", detail, headers={"Retry-After": str(retry_after)})


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


async def _on_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    kinds = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}
    problem = Problem(
        error.status_code,
        kinds.get(error.status_code, "http-error"),
        str(error.detail),
        headers=error.headers,
    )
    return problem_response(request, problem)


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = list(error.errors())
    if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
        # /v1/orders/abc names no order: that is "not found", not a bad parameter.
        return problem_response(request, not_found(f"{request.url.path} does not exist"))
    if any(_is_malformed_body(e) for e in errors):
        types = {e.get("type") for e in errors}
        detail = "the request body is not a JSON object"
        if "json_invalid" in types:
            detail = "the request body is not valid JSON"
        elif "missing" in types:
            detail = "the request needs a JSON body"
        return problem_response(request, Problem(400, "malformed-request", detail))
    pairs = [(_location(e), str(e.get("msg", "is invalid"))) for e in errors]
    return problem_response(request, invalid_parameters(pairs))


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
    problem = Problem(500, "internal-error", "an unexpected error occurred; it has been logged")
    return problem_response(request, problem)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)
