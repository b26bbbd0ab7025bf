"""The first check of every request, before its body is read: the shared secret and the body's size.

A plain ASGI middleware rather than a FastAPI dependency, because a dependency runs only after the
whole body has been received and parsed; here an oversized or unauthorised request costs nothing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.server.schemas import SECRET_HEADER

GUARDED = ("/v1/", "/metrics")


class BodyTooLarge(HTTPException):
    """Raised while the body streams in (no Content-Length); an HTTPException so FastAPI passes it on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over the limit of {limit} bytes")


class Gate:
    def __init__(
        self, app: ASGIApp, *, secret: str | None, max_body_bytes: int, on_refused: Callable[[str, str], None]
    ) -> None:
        self.app = app
        self.secret = secret.encode() if secret else None
        self.max_body_bytes = max_body_bytes
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
        if len(declared) > 18 or int(declared) > self.max_body_bytes:  # int() of 5,000 digits would raise
            reason = f"the body is {declared.decode()[:20]} bytes; the limit is {self.max_body_bytes}"
            await self._refuse(send, path, 413, "rejected", reason)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            return message

        await self.app(scope, counted_receive, send)

    async def _refuse(self, send: Send, path: str, status: int, error: str, reason: str) -> None:
        self.on_refused(path, error)
        body = json.dumps({"error": error, "reason": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
