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

from fastapi import Cookie, Depends, Header

from api.http.deps import SettingsDep, require_api_key

# Decoding reveals every customer's data: the codec is for operators. Once API keys carry
# scopes, this is the one a key needs here.
CODEC_SCOPE = "admin"
SESSION_COOKIE = "orderflow_codec"
SESSION_PATH = "/codec"


def require_codec_access(
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
) -> None:
    """401 unless keys are off, or the request carries a valid key (header or cookie)."""
    require_api_key(settings, x_api_key or session)


CodecAccess = Depends(require_codec_access)
