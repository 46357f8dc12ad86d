"""/codec: Temporal's remote codec protocol, so the Web UI (and the ``temporal`` CLI) can show
the payloads that Temporal only holds encrypted; and the page where an operator signs the
browser in for it when API keys are set (api/codec/access.py says why a cookie).

``POST /codec/decode`` and ``POST /codec/encode`` take and answer ``{"payloads": […]}`` in
proto3 JSON, the namespace in ``X-Namespace``. The Web UI is started with this endpoint
(``--ui-codec-endpoint`` in the embedded stack, ``TEMPORAL_CODEC_ENDPOINT`` in compose).
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from temporalio.api.common.v1 import Payload

from api.codec.access import SESSION_COOKIE, SESSION_PATH, CodecAccess, codec_caller
from api.codec.models import CodecPayload, CodecPayloads
from api.http.deps import SettingsDep
from api.http.problems import problem_responses
from orderflow.encryption import EncryptionCodec, UndecryptablePayload
from orderflow.errors import InvalidInput, ScopeMissing, Unauthenticated
from orderflow.settings import Settings

router = APIRouter(prefix="/codec", tags=["codec"])

Namespace = Annotated[
    str | None,
    Header(
        alias="X-Namespace",
        description="The namespace of the payloads (the Web UI sends it): the one this API "
        "serves, TEMPORAL_NAMESPACE.",
    ),
]


async def get_codec(request: Request) -> EncryptionCodec | None:
    """The codec of the API's own Temporal client (None when ENCRYPTION=off)."""
    codec: EncryptionCodec | None = request.app.state.codec
    return codec


async def incoming_payloads(
    body: CodecPayloads, settings: SettingsDep, namespace: Namespace = None
) -> list[Payload]:
    """The payloads of the body, once they are of the namespace this codec serves (else 422)."""
    if namespace is not None and namespace != settings.temporal_namespace:
        reason = f"this codec serves the namespace {settings.temporal_namespace!r}"
        raise InvalidInput([("X-Namespace", reason)])
    return [payload.proto() for payload in body.payloads]


CodecDep = Annotated[EncryptionCodec | None, Depends(get_codec)]
IncomingPayloads = Annotated[list[Payload], Depends(incoming_payloads)]
# Both operations: 401 and 403 are documented when API keys are set (api/http/openapi.py).
_OPERATION: dict[str, Any] = {
    "response_model": CodecPayloads,
    "responses": problem_responses(422),
    "dependencies": [CodecAccess],
}


@router.post("/decode", summary="Decode payloads for the Web UI", **_OPERATION)
async def decode(payloads: IncomingPayloads, codec: CodecDep) -> JSONResponse:
    """The payloads decrypted, in order; those that are not encrypted come back as sent.
    One encrypted under a key the ring does not hold, or that does not authenticate, is a
    422 naming the key: never passed on as if it were plain."""
    if codec is None:
        return _answer(payloads)
    decoded = []
    for index, payload in enumerate(payloads):
        try:
            decoded.append(codec.decrypt(payload))
        except UndecryptablePayload as error:
            reason = f"is encrypted with key {error.key_id!r}: {error.reason}"
            raise InvalidInput([(f"payloads.{index}", reason)]) from None
    return _answer(decoded)


@router.post("/encode", summary="Encode payloads from the Web UI", **_OPERATION)
async def encode(payloads: IncomingPayloads, codec: CodecDep) -> JSONResponse:
    """The payloads encrypted with the newest key, as workers expect them (for a signal
    or a workflow started from the Web UI or the CLI)."""
    if codec is not None:
        payloads = [codec.encrypt(payload) for payload in payloads]
    return _answer(payloads)


def _answer(payloads: list[Payload]) -> JSONResponse:
    body = CodecPayloads(payloads=[CodecPayload.of(p) for p in payloads])
    return JSONResponse(body.model_dump())


# The sign-in page: plain HTML, no script, for a browser the Web UI runs in.


@router.get("", include_in_schema=False, response_class=HTMLResponse)
async def sign_in_page(settings: SettingsDep) -> HTMLResponse:
    return _page(settings, _sign_in_text(settings))


@router.post("/sign-in", include_in_schema=False, response_class=HTMLResponse)
async def sign_in(request: Request, settings: SettingsDep) -> Response:
    """Checks the key from the form; if it is valid, the browser keeps it in a cookie for
    the codec's paths only (CODEC_SESSION_HOURS)."""
    form = parse_qs((await request.body()).decode(errors="replace"))
    key = (form.get("key") or [""])[0].strip()
    try:
        codec_caller(settings, key)
    except (Unauthenticated, ScopeMissing):
        text = "<p><strong>That key is not valid.</strong></p>" + _sign_in_text(settings)
        return _page(settings, text, status=401)
    ui = escape(settings.ui_url)
    text = (
        f"<p>Signed in: the Web UI at <a href='{ui}'>{ui}</a> can decode payloads in this "
        "browser, once its codec settings include cross-origin credentials.</p>"
        f"<form method='post' action='{SESSION_PATH}/sign-out'>"
        "<button type='submit'>Sign out</button></form>"
    )
    response = _page(settings, text)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=int(timedelta(hours=settings.codec_session_hours).total_seconds()),
        path=SESSION_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/sign-out", include_in_schema=False, response_class=HTMLResponse)
async def sign_out(settings: SettingsDep) -> Response:
    response = _page(settings, "<p>Signed out.</p>" + _sign_in_text(settings))
    response.delete_cookie(SESSION_COOKIE, path=SESSION_PATH, httponly=True, samesite="strict")
    return response


def _sign_in_text(settings: Settings) -> str:
    if not settings.api_keys:
        return "<p>API keys are off: the Web UI's codec requests need no sign-in.</p>"
    return (
        "<p>Sign this browser in to let the Temporal Web UI decode payloads: an API key "
        "allowed to administer orderflow.</p>"
        f"<form method='post' action='{SESSION_PATH}/sign-in'>"
        "<label>API key <input type='password' name='key' autocomplete='off' required>"
        "</label> <button type='submit'>Sign in</button></form>"
    )


def _page(settings: Settings, body: str, *, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>orderflow codec</title></head><body><h1>orderflow codec</h1>"
        f"{body}</body></html>"
    )
    # No script, no style, nothing framed: its forms post to the API itself, and the page
    # links to the Web UI.
    policy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": policy}
    return HTMLResponse(html, status, headers=headers)
