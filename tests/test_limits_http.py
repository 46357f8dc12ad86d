"""Limits answer clearly, over real HTTP: a body above API_MAX_BODY_BYTES is 413 before it
is read or parsed, headers above API_MAX_HEADER_BYTES are 431, an overlong Idempotency-Key
is 422; all problems, all counted in /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from tests.helpers import assert_problem, create_order, register_customer

MB = 1_048_576


async def test_a_body_above_the_limit_is_413_from_its_content_length(
    http: httpx.AsyncClient,
) -> None:
    content = b'{"accountId": 1, "padding": "' + b"x" * (10 * MB) + b'"}'
    response = await http.post(
        "/v1/orders", content=content, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 413, "body-too-large")
    assert str(MB) in body["detail"]
    # The connection is still good for the next request.
    assert (await http.get("/healthz")).status_code == 200


async def test_a_chunked_body_is_cut_when_it_passes_the_limit(http: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"accountId": 1, "padding": "'
        for _ in range(40):
            sent += 256 * 1024
            yield b"x" * (256 * 1024)
        yield b'"}'

    response = await http.post(
        "/v1/orders", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "body-too-large")


async def test_a_body_at_the_limit_is_read(http: httpx.AsyncClient) -> None:
    customer = await register_customer(http)
    content = b'{"accountId": %d}' % customer["customerId"]
    content += b" " * (MB - len(content))
    response = await http.post(
        "/v1/orders", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_headers_above_the_limit_are_431(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    for size in (20_000, 8 * MB):
        response = await http.get(order["_links"]["self"]["href"], headers={"X-Big": "a" * size})
        body = assert_problem(response, 431, "headers-too-large")
        assert "16384" in body["detail"]
    fine = await http.get(order["_links"]["self"]["href"], headers={"X-Big": "a" * 10_000})
    assert fine.status_code == 200


async def test_limits_are_counted(http: httpx.AsyncClient) -> None:
    await http.get("/healthz", headers={"X-Big": "a" * 20_000})
    await http.post("/v1/customers", content=b"x" * (2 * MB))
    text = (await http.get("/metrics")).text
    assert 'status="431"' in text and 'status="413"' in text
