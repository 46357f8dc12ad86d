"""The OpenAPI document held against every response the suite receives: a response whose
status an operation documents must validate against the documented schema of its content
type, and a status no operation documents is recorded for the report."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema


@dataclass
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]


@dataclass
class ResponseContract:
    openapi: dict[str, Any]
    undocumented: set[tuple[str, str, int]] = field(default_factory=set)
    checked: int = 0

    def __post_init__(self) -> None:
        self._operations = [
            Operation(method.upper(), path, _pattern(path), spec.get("responses", {}))
            for path, item in self.openapi["paths"].items()
            for method, spec in item.items()
        ]

    def operation(self, method: str, path: str) -> Operation | None:
        matches = [o for o in self._operations if o.method == method and o.pattern.match(path)]
        # A literal segment beats a parameter: /customers/requests/x before /customers/{id}.
        return min(matches, key=lambda o: o.template.count("{"), default=None)

    def check(self, response: httpx.Response) -> None:
        """Raise AssertionError when a documented response does not match its schema."""
        request = response.request
        operation = self.operation(request.method, request.url.path)
        if operation is None:
            return  # not part of the API document (docs, metrics, static files)
        documented = operation.responses.get(str(response.status_code))
        if documented is None:
            key = (request.method, operation.template, response.status_code)
            self.undocumented.add(key)
            return
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        content = documented.get("content", {})
        if not content or not response.content:
            return
        assert media_type in content, (
            f"{request.method} {operation.template} {response.status_code}: content type "
            f"{media_type!r} is not documented (documented: {sorted(content)})"
        )
        schema = content[media_type].get("schema")
        if schema is None or not media_type.endswith("json"):
            return
        body = json.loads(response.content)
        document = {**schema, "components": self.openapi.get("components", {})}
        try:
            jsonschema.validate(body, document, cls=jsonschema.Draft202012Validator)
        except jsonschema.ValidationError as error:
            raise AssertionError(
                f"{request.method} {request.url.path} answered {response.status_code} with a "
                f"body that does not match its documented schema: {error.message} "
                f"at {list(error.absolute_path)}"
            ) from None
        self.checked += 1


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$")
