"""Who may call what, in the OpenAPI document: each operation's scope, read from its
``require_scope`` dependency (or the codec's own rule), stated in its description; with API
keys set, the security schemes and the 401 and 403 an operation may answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from api.codec.access import CODEC_SCOPES, require_codec_access
from api.http.deps import ScopeCheck
from api.http.problems import documented_problem

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


def document_scopes(
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
            responses.setdefault(
                "401", documented_problem("No valid API key (`WWW-Authenticate` says how)")
            )
            if needed:
                responses.setdefault(
                    "403", documented_problem("The key lacks the scope (`requiredScopes`)")
                )
    if keys:
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
