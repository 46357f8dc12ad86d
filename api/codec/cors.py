"""CORS for the codec's endpoints: the Web UI's page, on another origin, calls them from the
browser. Only the allowed origins (CODEC_ALLOWED_ORIGINS, by default the Web UI's) get
CORS headers, credentials included (the sign-in cookie, api/codec/access.py); for any other
origin the browser keeps the answer from the page.

A pure ASGI middleware, added last so it is outermost: it answers the codec's preflights
itself, whatever CORS policy the rest of the API has.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATHS = "/codec/"
ALLOWED_METHODS = "POST"
# What the Web UI and the CLI send: JSON, the namespace, a key for programs.
ALLOWED_HEADERS = "Content-Type, X-Namespace, X-API-Key"
PREFLIGHT_MAX_AGE = "600"


class CodecCors:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PATHS):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or origin not in self.origins:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            preflight = Response(status_code=204, headers=self._allow(origin))
            preflight.headers.update(
                {
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                }
            )
            await preflight(scope, receive, send)
            return

        async def send_allowed(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in self._allow(origin).items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_allowed)

    @staticmethod
    def _allow(origin: str) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
