"""Hardening over real HTTP: every answer (errors and the docs included) says nosniff,
no-referrer and a Content Security Policy, and names no server; the docs' policy still
lets Swagger UI render, checked in a real browser; CORS for /v1 only, when configured."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from api.http.headers import API_POLICY
from orderflow.settings import Settings
from tests.api_keys import as_key, keyed_settings
from tests.conftest import ON_CI
from tests.helpers import running_api

ORIGIN = "https://shop.example"


def assert_hardened(response: httpx.Response) -> str:
    """The response's headers are hardened; returns its policy."""
    what = f"{response.request.method} {response.request.url.path} {response.status_code}"
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert response.headers.get("referrer-policy") == "no-referrer", what
    assert "server" not in response.headers, what
    policy: str = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy, what
    return policy


async def test_every_kind_of_answer_is_hardened(http: httpx.AsyncClient) -> None:
    answers = [
        await http.get("/v1"),
        await http.get("/v1/orders/999999999999"),  # 404 problem
        await http.get("/v1/orders", params={"size": 0}),  # 422 problem
        await http.post("/v1/orders", content=b"{", headers={"content-type": "application/json"}),
        await http.post("/v1/orders", content=b"x" * 2_000_000),  # 413, from the limits
        await http.delete("/v1/orders"),  # 405
        await http.options("/v1/orders"),  # 204 with Allow
        await http.get("/healthz"),
        await http.get("/metrics"),
        await http.get("/openapi.json"),
        await http.get("/docs-assets/swagger-ui.css"),
    ]
    assert {a.status_code for a in answers} >= {200, 204, 400, 404, 405, 413, 422}
    for answer in answers:
        assert assert_hardened(answer) == API_POLICY
    async with http.stream("GET", "/v1/events/stream") as stream:
        assert stream.status_code == 200 and assert_hardened(stream) == API_POLICY
    docs = await http.get("/docs")
    assert assert_hardened(docs) != API_POLICY  # its own, below


async def test_the_docs_policy_admits_exactly_what_the_page_loads(http: httpx.AsyncClient) -> None:
    docs = await http.get("/docs")
    directives = [part.split() for part in docs.headers["content-security-policy"].split(";")]
    policy = {directive[0]: directive[1:] for directive in directives}
    assert policy["default-src"] == ["'none'"]
    assert (
        "'unsafe-inline'" not in policy["script-src"]
        and "'unsafe-eval'" not in policy["script-src"]
    )
    # Every inline script is admitted by its hash, every asset comes from this server.
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert len(assets) >= 3
    for asset in assets:
        assert asset.startswith("/"), asset  # same origin: 'self'
        loaded = await http.get(asset)
        assert loaded.status_code == 200 and loaded.content, asset
    assert "'self'" in policy["script-src"] and "'self'" in policy["style-src"]
    # Swagger UI then fetches the document from the same origin ('self').
    assert "url: '/openapi.json'" in docs.text and policy["connect-src"] == ["'self'"]


async def test_the_docs_render_in_a_browser_under_their_policy(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        if ON_CI:
            pytest.fail("chromium is required on CI")
        pytest.skip("chromium is not installed here")
    process = await asyncio.create_subprocess_exec(
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",  # lets the single-page app load and render
        "--dump-dom",
        str(http.base_url.join("/docs")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    dom, log = await asyncio.wait_for(process.communicate(), timeout=120)
    page, console = dom.decode(), log.decode(errors="replace")
    # The browser reports every blocked load or script on its console.
    assert "Content Security Policy" not in console, console
    assert page.count('class="opblock opblock-') > 20, console[-3000:]  # every operation rendered
    assert "Place an order" in page


@pytest_asyncio.fixture
async def cors(settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(keyed_settings(settings, cors_origins=[ORIGIN])) as http:
        yield http


async def test_cors_answers_preflights_for_v1_from_the_configured_origins(
    cors: httpx.AsyncClient,
) -> None:
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key, content-type, idempotency-key",
    }
    # Browsers send no key with a preflight: it is answered before any is asked for.
    answer = await cors.options("/v1/orders", headers=preflight)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert {"x-api-key", "content-type", "idempotency-key", "authorization"} <= {
        h.strip() for h in allowed.split(",")
    }
    assert answer.headers["vary"] == "Origin"
    assert_hardened(answer)

    read = await cors.get("/v1", headers={"Origin": ORIGIN, **as_key("reader")})
    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == ORIGIN
    assert "Location" in read.headers["access-control-expose-headers"]
    assert "Origin" in read.headers["vary"]
    refused = await cors.get("/v1/orders/1", headers={"Origin": ORIGIN})
    assert refused.status_code == 401  # readable by the page: it learns it needs a key
    assert refused.headers["access-control-allow-origin"] == ORIGIN

    # Another origin gets no CORS headers (its browser keeps the answer from it) ...
    other = await cors.options(
        "/v1/orders", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    # ... and paths outside /v1 answer for themselves (the codec endpoints their own origin).
    outside = await cors.options("/healthz", headers=preflight)
    assert "access-control-allow-origin" not in outside.headers
    health = await cors.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in health.headers


async def test_without_origins_there_is_no_cors(http: httpx.AsyncClient) -> None:
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    answer = await http.options("/v1/orders", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    read = await http.get("/v1", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in read.headers
