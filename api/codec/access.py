"""Who may use the codec: with API keys set, a key, given the way its caller can give it.

The Web UI's page calls the codec from the browser, and the UI can add no API key to those
requests; what it can do is send the browser's cookies ("include cross-origin credentials").
So an operator signs in once on the API's own page (``GET /codec``): the key goes into an
HttpOnly, SameSite=Strict cookie scoped to ``/codec``, which the browser then sends with the
UI's codec requests (the UI on localhost:8233 and the API on localhost:8000 are one site).
Scripts, including the UI's, never read the key; other sites' pages cannot send it, and CORS
lets only the Web UI's origin read the answers. Programs (the ``temporal`` CLI) send the key
as ``X-API-Key`` as with the rest of the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Header, Request

from api.http.deps import SettingsDep, bearer_token
from orderflow.access import ANONYMOUS, Caller, identify
from orderflow.errors import ScopeMissing, Unauthenticated
from orderflow.settings import Settings

# Decoding reveals every customer's data: the codec is for operators.
CODEC_SCOPES = ("admin",)
SESSION_COOKIE = "orderflow_codec"
SESSION_PATH = "/codec"


def codec_caller(settings: Settings, secret: str | None) -> Caller:
    """Who holds ``secret``, if they may use the codec: 401 without a valid key, 403 for a
    key without the codec's scope; anonymous when the service has no keys."""
    if not settings.keyring:
        return ANONYMOUS
    key = identify(settings.keyring, secret) if secret else None
    if key is None:
        raise Unauthenticated()
    caller = Caller.of(key)
    if not caller.may(CODEC_SCOPES):
        raise ScopeMissing(caller.name, CODEC_SCOPES)
    return caller


async def require_codec_access(
    request: Request,
    settings: SettingsDep,
    x_api_key: Annotated[
        str | None, Header(description="An API key (when keys are set), for programs.")
    ] = None,
    session: Annotated[
        str | None,
        Cookie(
            alias=SESSION_COOKIE,
            description="Set by signing in at GET /codec; the Web UI sends it when told to "
            "include cross-origin credentials.",
        ),
    ] = None,
) -> Caller:
    """The caller, by a key as a header, a bearer token, or the sign-in cookie."""
    bearer = bearer_token(request.headers.get("authorization"))
    return codec_caller(settings, x_api_key or bearer or session)


CodecAccess = Depends(require_codec_access)
