"""CORS for the /v1 API: pages on the origins in CORS_ORIGINS may call it from a browser
(none: off, and browsers keep cross-origin pages out). Only /v1: other paths — the Web UI's
codec endpoints among them — answer for their own origins, so the two never mix.

A preflight from an allowed origin is answered here, before routing and before any key is
asked for (browsers send none with it). A request from any other origin passes through
without CORS headers, which is how a browser learns it may not read the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/v1"
METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
# What a client of this API sends, and what it may read of an answer besides the body.
REQUEST_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, If-Match, Last-Event-ID, Prefer, X-API-Key"
)
RESPONSE_HEADERS = "ETag, Location, Preference-Applied, Retry-After, WWW-Authenticate"
PREFLIGHT_MAX_AGE_SECONDS = 600


class V1Cors:
    """``origins`` are ``scheme://host[:port]`` as browsers send them, or ``*`` for any."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        origin = request.get("origin")
        allowed = origin is not None and (self.any_origin or origin in self.origins)
        if allowed and scope["method"] == "OPTIONS" and "access-control-request-method" in request:
            await self._preflight(origin or "")(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Origin")  # the answer depends on it: caches must know
                if allowed:
                    headers["Access-Control-Allow-Origin"] = self._allow(origin or "")
                    headers["Access-Control-Expose-Headers"] = RESPONSE_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _allow(self, origin: str) -> str:
        return "*" if self.any_origin else origin

    def _preflight(self, origin: str) -> Response:
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": self._allow(origin),
                "Access-Control-Allow-Methods": METHODS,
                "Access-Control-Allow-Headers": REQUEST_HEADERS,
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
                "Vary": "Origin",
            },
        )
