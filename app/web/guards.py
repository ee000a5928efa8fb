"""What every HTTP request and answer passes through, whatever route it reaches.

Plain ASGI middlewares: Starlette's BaseHTTPMiddleware would buffer streamed answers (the
CSV export) and run the route in another task.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages load only their own files (no inline script, no CDN), are never framed (no
# click-jacking of a console that dials customers), and say nothing of where a user came from.
SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers without CSP 2
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP answer, pages and API alike. A plain ASGI
    middleware: Starlette's BaseHTTPMiddleware would buffer the CSV export's stream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


NUL_REFUSED = json.dumps(
    {"detail": [{"type": "string_nul", "loc": ["request"], "msg": "text must not contain NUL"}]}
).encode()


class RefuseNul:
    """A NUL character in the path, the query or the body is a 422 before any route runs.

    PostgreSQL cannot store NUL in text (it raised a 500 from deep inside a query), and no
    caller ID, note or filter has a use for it. Checked once here rather than in every
    model, so a field added later is covered too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if _nul_in_address(scope):
            await _refuse(scope, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        if _nul_in_body(body, _is_form(scope)):
            await _refuse(scope, send)
            return
        await self.app(scope, _replay(messages, receive), send)


def _nul_in_address(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    return "\x00" in path or b"\x00" in unquote_to_bytes(query.replace(b"+", b" "))


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """The request's body messages as they came (bodies here are small forms and JSON)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _is_form(scope: Scope) -> bool:
    headers: dict[bytes, bytes] = dict(scope.get("headers", []))
    return headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded")


def _nul_in_body(body: bytes, form: bool) -> bool:
    if b"\x00" in body or (form and b"\x00" in unquote_to_bytes(body.replace(b"+", b" "))):
        return True
    if b"\\u0000" not in body:
        return False
    try:
        return _holds_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the route will say so


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _refuse(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    length = str(len(NUL_REFUSED)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", length)]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": NUL_REFUSED})
