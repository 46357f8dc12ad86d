"""Request limits: headers above a size are 431, bodies above a size are 413, both as
problems, decided before the app reads (or parses) what is too large.

A pure ASGI middleware, so it sees every request first. Headers are measured as the server
hands them over (names and values); the server reads them whole before that, so it is the
server's own limit (see ``orderflow api``) that bounds what a hostile client can make it
buffer. Bodies are refused from ``Content-Length`` up front, or, when they are chunked,
as soon as the bytes received pass the limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import Problem, problem_response


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a chunked body passes the limit. FastAPI lets an
    HTTPException from body reading through, so the problem handlers answer it; this
    middleware answers it itself if it escapes them."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class RequestLimits:
    """``larger_bodies``: path prefix → the body limit there, instead of ``max_body_bytes``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_header_bytes: int,
        larger_bodies: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.larger_bodies = dict(larger_bodies or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            detail = (
                f"the request's headers take {header_bytes} bytes; "
                f"at most {self.max_header_bytes} are accepted"
            )
            await self._refuse(scope, receive, send, Problem(431, "headers-too-large", detail))
            return
        limit = self.body_limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, _too_large(limit))
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, noting_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, _too_large(limit))

    def body_limit(self, path: str) -> int:
        for prefix, limit in self.larger_bodies.items():
            if path.startswith(prefix):
                return limit
        return self.max_body_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
        response = problem_response(Request(scope), problem)
        await response(scope, receive, send)


def _too_large(limit: int) -> Problem:
    return Problem(413, "body-too-large", f"the request body is larger than {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
