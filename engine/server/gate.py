"""The first check of every request, before its body is read: the shared secret and the body's size.

A plain ASGI middleware rather than a FastAPI dependency, because a dependency runs only after the
whole body has been received and parsed; here an oversized or unauthorised request costs nothing.

Bodies are small (`max_body_bytes`, 1 MB by default) except an audio clip to answer: `/v1/answer` may
declare up to `large_body_bytes` (10 MiB of audio in base64, and its JSON), but only `large_at_once` such
bodies are read and held at once; another is refused 429 busy before it is read. A voice message (a
minute of Opus at 32 kb/s, about 320 KB in base64) stays under the small limit and never waits for one.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.server.schemas import SECRET_HEADER

GUARDED = ("/v1/", "/metrics")
LARGE_PATHS = ("/v1/answer",)  # where a body may be large: an audio clip


class BodyTooLarge(HTTPException):
    """Raised while the body streams in (no Content-Length); an HTTPException so FastAPI passes it on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over the limit of {limit} bytes")


class Gate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: str | None,
        max_body_bytes: int,
        on_refused: Callable[[str, str], None],
        large_body_bytes: int = 0,
        large_at_once: int = 0,
    ) -> None:
        self.app = app
        self.secret = secret.encode() if secret else None
        self.max_body_bytes = max_body_bytes
        self.large_body_bytes = max(large_body_bytes, max_body_bytes)
        self.large_free = large_at_once  # large bodies that may be read now (one event loop: a plain count)
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = dict(scope["headers"])
        if self.secret and path.startswith(GUARDED):
            sent = headers.get(SECRET_HEADER.lower().encode(), b"")
            if not hmac.compare_digest(sent, self.secret):
                await self._refuse(
                    send, path, 401, "unauthorized", f"missing or wrong {SECRET_HEADER} header"
                )
                return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit():
            await self._refuse(send, path, 400, "rejected", "Content-Length must be a number of bytes")
            return
        size = int(declared) if len(declared) <= 18 else None  # int() of 5,000 digits would raise
        large = path in LARGE_PATHS and size is not None and size > self.max_body_bytes
        limit = self.large_body_bytes if large else self.max_body_bytes
        if size is None or size > limit:
            reason = f"the body is {declared.decode()[:20]} bytes; the limit is {limit}"
            await self._refuse(send, path, 413, "rejected", reason)
            return
        if large and self.large_free <= 0:
            reason = "busy reading other large clips; try again in a moment"
            await self._refuse(send, path, 429, "busy", reason, retry_after=1)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            return message

        if not large:
            await self.app(scope, counted_receive, send)
            return
        self.large_free -= 1  # held until answered: the body stays in memory as long as its request runs
        try:
            await self.app(scope, counted_receive, send)
        finally:
            self.large_free += 1

    async def _refuse(
        self, send: Send, path: str, status: int, error: str, reason: str, retry_after: int | None = None
    ) -> None:
        self.on_refused(path, error)
        body = json.dumps({"error": error, "reason": reason}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
