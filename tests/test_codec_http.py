"""The Web UI's remote codec on the API (POST /codec/decode, /codec/encode) over real HTTP:
Temporal's protocol, CORS for the Web UI's origin, and the sign-in that lets a browser use
it when API keys are set. The ``temporal`` CLI reading through it: test_codec_cli.py."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType

from orderflow.encryption import ENCODING
from orderflow.settings import Settings
from tests.api_keys import entry
from tests.codec_client import b64, codec, json_payload, value_of
from tests.helpers import (
    TEST_ENCRYPTION_KEYS,
    assert_problem,
    command_applied,
    create_order,
    isolated_settings,
    running_api,
)
from tests.raw_history import raw_history
from workflows.order_names import order_workflow_id

UI = "http://localhost:8233"  # the embedded Web UI's origin, the suite's default


async def test_what_the_codec_encodes_it_decodes(http: httpx.AsyncClient) -> None:
    sent = [json_payload({"firstName": "Grace"}), json_payload([1, 2, 3])]
    encoded = await codec(http, "encode", sent)
    assert encoded.status_code == 200, encoded.text
    assert encoded.headers["content-type"] == "application/json"
    sealed = encoded.json()["payloads"]
    assert [base64.b64decode(p["metadata"]["encoding"]) for p in sealed] == [ENCODING] * 2
    assert {base64.b64decode(p["metadata"]["encryption-key-id"]) for p in sealed} == {b"tests-1"}
    assert b"Grace" not in base64.b64decode(sealed[0]["data"])
    decoded = await codec(http, "decode", sealed)
    assert decoded.status_code == 200, decoded.text
    assert [value_of(p) for p in decoded.json()["payloads"]] == [{"firstName": "Grace"}, [1, 2, 3]]


async def test_a_real_history_decodes_as_the_web_ui_asks(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    order = await create_order(http)
    await command_applied(http, order, "assignOrder", restaurantId=101)
    events = await raw_history(settings, order_workflow_id(order["orderId"]))
    [signal] = [
        e.workflow_execution_signaled_event_attributes
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    # What the Web UI holds: the history in proto JSON, as Temporal's HTTP API gives it.
    payloads = MessageToDict(signal.input)["payloads"]
    decoded = await codec(http, "decode", payloads)
    assert decoded.status_code == 200, decoded.text
    [value] = [value_of(p) for p in decoded.json()["payloads"]]
    assert isinstance(value, dict) and value["parameters"] == {"restaurantId": 101}


async def test_plain_payloads_pass_url_safe_and_unpadded_base64_is_read(
    http: httpx.AsyncClient,
) -> None:
    plain = json_payload({"written": "before encryption"})
    decoded = await codec(http, "decode", [plain])
    assert decoded.json()["payloads"] == [plain]
    loose = {
        "metadata": {"encoding": b64("json/plain").rstrip("=")},
        "data": base64.urlsafe_b64encode(b'"\xfb\xff?"').decode().rstrip("="),
    }
    answered = (await codec(http, "decode", [loose])).json()["payloads"]
    assert base64.b64decode(answered[0]["data"]) == b'"\xfb\xff?"'


async def test_an_unknown_key_or_another_namespace_is_refused(http: httpx.AsyncClient) -> None:
    sealed = (await codec(http, "encode", [json_payload("x")])).json()["payloads"][0]
    stranger = {**sealed, "metadata": {**sealed["metadata"], "encryption-key-id": b64("2019")}}
    refused = await codec(http, "decode", [json_payload("plain"), stranger])
    problem = assert_problem(refused, 422, "invalid-parameter")
    assert problem["errors"] == [
        {
            "name": "payloads.1",
            "reason": "is encrypted with key '2019': no such key in the ring (it has tests-1)",
        }
    ]
    other = await codec(http, "decode", [sealed], **{"X-Namespace": "payments"})
    assert assert_problem(other, 422, "invalid-parameter")["errors"][0]["name"] == "X-Namespace"
    garbled = await codec(http, "decode", [{"metadata": {}, "data": "a"}])
    assert_problem(garbled, 422, "invalid-parameter")
    not_json = await http.post(
        "/codec/decode", content=b"payloads", headers={"content-type": "application/json"}
    )
    assert_problem(not_json, 400, "malformed-request")


async def test_history_sized_bodies_are_taken(http: httpx.AsyncClient, settings: Settings) -> None:
    """A payload may reach 2 MB (the order's continue-as-new): more than other requests."""
    assert settings.codec_max_body_bytes > 2 * settings.api_max_body_bytes
    large = json_payload("x" * (2 * settings.api_max_body_bytes))
    assert (await codec(http, "encode", [large])).status_code == 200
    huge = json_payload("x" * settings.codec_max_body_bytes)
    assert_problem(await codec(http, "encode", [huge]), 413, "body-too-large")


async def test_cors_lets_the_web_ui_and_no_other_origin_read_answers(
    http: httpx.AsyncClient,
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    for origin in (UI, "http://127.0.0.1:8233"):
        answer = await http.options("/codec/decode", headers={"Origin": origin, **preflight})
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == origin
        assert answer.headers["access-control-allow-credentials"] == "true"
        assert answer.headers["access-control-allow-methods"] == "POST"
        allowed = {
            h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")
        }
        assert {"content-type", "x-namespace"} <= allowed
        posted = await codec(http, "decode", [json_payload(1)], Origin=origin)
        assert posted.status_code == 200
        assert posted.headers["access-control-allow-origin"] == origin
        assert posted.headers["vary"] == "Origin"

    evil = await http.options(
        "/codec/decode", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in evil.headers
    posted = await codec(http, "decode", [json_payload(1)], Origin="https://evil.example")
    assert "access-control-allow-origin" not in posted.headers
    # Only the codec answers other origins at all.
    order_preflight = await http.options("/v1/orders", headers={"Origin": UI, **preflight})
    assert "access-control-allow-origin" not in order_preflight.headers


async def test_with_api_keys_the_codec_takes_a_key_or_a_signed_in_browser(
    settings: Settings,
) -> None:
    key, shop = f"operator-{uuid.uuid4()}", f"shop-{uuid.uuid4()}"
    entries = [entry("operator", key, "admin"), entry("shop", shop, "orders:write")]
    guarded = isolated_settings(settings, api_keys=entries)
    async with running_api(guarded) as http:
        payloads = [json_payload("x")]
        assert_problem(await codec(http, "encode", payloads), 401, "unauthorized")
        # Decoding shows every customer's data: a key for placing orders will not do.
        denied = await codec(http, "decode", payloads, **{"X-API-Key": shop})
        assert_problem(denied, 403, "insufficient-scope")
        assert (await codec(http, "encode", payloads, **{"X-API-Key": key})).status_code == 200
        bearer = {"Authorization": f"Bearer {key}"}
        assert (await codec(http, "decode", payloads, **bearer)).status_code == 200

        page = await http.get("/codec")
        assert (
            page.status_code == 200 and "<form method='post' action='/codec/sign-in'>" in page.text
        )
        for guess in ("guess", shop):  # unknown, or without the codec's scope
            wrong = await http.post("/codec/sign-in", data={"key": guess})
            assert wrong.status_code == 401 and "not valid" in wrong.text
            assert "set-cookie" not in wrong.headers
        assert_problem(await codec(http, "decode", payloads), 401, "unauthorized")

        signed_in = await http.post("/codec/sign-in", data={"key": key})
        assert signed_in.status_code == 200 and "Signed in" in signed_in.text
        cookie = signed_in.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "path", "max-age", "samesite"} <= attributes
        assert "Path=/codec" in cookie and "SameSite=strict" in cookie
        assert signed_in.headers["cache-control"] == "no-store"
        # The client keeps the cookie, as the browser does, and sends it to /codec only.
        assert (await codec(http, "decode", payloads)).status_code == 200
        assert (await http.get("/v1/orders")).status_code == 401

        signed_out = await http.post("/codec/sign-out")
        assert signed_out.status_code == 200 and "Signed out" in signed_out.text
        assert_problem(await codec(http, "decode", payloads), 401, "unauthorized")


@pytest.mark.parametrize("origins", [[], ["https://temporal.example.com/"]])
def test_the_codec_origins_follow_the_web_ui(origins: list[str]) -> None:
    settings = Settings(
        _env_file=None,
        encryption_keys=SecretStr(TEST_ENCRYPTION_KEYS),
        temporal_ui_port=9233,
        codec_allowed_origins=origins,
    )
    if origins:
        assert settings.codec_origins == {"https://temporal.example.com"}
    else:
        assert settings.codec_origins == {"http://localhost:9233", "http://127.0.0.1:9233"}
    compose = Settings(_env_file=None, temporal_ui_url="http://localhost:8080", api_host="0.0.0.0")
    assert compose.codec_origins == {"http://localhost:8080", "http://127.0.0.1:8080"}
    assert compose.codec_url == "http://localhost:8000/codec"
    behind_a_proxy = Settings(_env_file=None, public_base_url="https://orders.example.com/")
    assert behind_a_proxy.codec_url == "https://orders.example.com/codec"
