"""Payloads as Temporal's remote codec protocol carries them, and a call to the API's codec."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def json_payload(value: object) -> dict[str, Any]:
    return {"metadata": {"encoding": b64("json/plain")}, "data": b64(json.dumps(value))}


def value_of(payload: dict[str, Any]) -> object:
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain", payload
    return json.loads(base64.b64decode(payload["data"]))


async def codec(
    http: httpx.AsyncClient, operation: str, payloads: list[dict[str, Any]], **headers: str
) -> httpx.Response:
    return await http.post(
        f"/codec/{operation}",
        json={"payloads": payloads},
        headers={"X-Namespace": "default", **headers},
    )
