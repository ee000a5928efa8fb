"""``/ws``: live updates for a logged-in user, a snapshot first and then every change.

Browsers cannot set headers on a WebSocket, so the token comes in the query string; the
Origin header is checked so that another site's page cannot ride on a user's login.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from app.api.deps import user_from_token, viewer_of
from app.db.tables import User
from app.hub import Subscriber
from app.wiring import Services

router = APIRouter()
log = logging.getLogger("callassist.ws")

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


@router.websocket("/ws")
async def live_updates(websocket: WebSocket, token: str | None = None) -> None:
    services: Services = websocket.app.state.services
    if not origin_allowed(websocket, services.settings.origins):
        await websocket.close(POLICY_VIOLATION, "origin not allowed")
        return
    try:
        user = await run_in_threadpool(_user, services, token)
    except HTTPException as refused:
        await websocket.close(POLICY_VIOLATION, str(refused.detail))
        return
    await websocket.accept()
    subscriber = services.hub.subscribe(user.username, user.role, user.endpoint)
    try:
        # No await between subscribing and taking the snapshot: nothing can fall in between.
        await websocket.send_text(json.dumps(_snapshot(services, user), ensure_ascii=False))
        await _serve(websocket, subscriber)
    except WebSocketDisconnect:
        pass
    finally:
        services.hub.unsubscribe(subscriber)


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """No Origin: not a browser, nothing to protect. Else the allowed list, or our own origin."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if allowed:
        return origin.rstrip("/") in allowed
    host = websocket.headers.get("host", "")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin.rstrip("/") == f"{scheme}://{host}"


def _user(services: Services, token: str | None) -> User:
    with services.database.session() as session:
        return user_from_token(services, session, token)


def _snapshot(services: Services, user: User) -> dict[str, Any]:
    pipeline = services.pipeline
    calls = pipeline.live_calls(viewer_of(user)) if pipeline else []
    link = services.link.snapshot().status if services.link else "not configured"
    return {"type": "snapshot", "id": services.hub.next_id(), "calls": calls, "link": str(link)}


async def _serve(websocket: WebSocket, subscriber: Subscriber) -> None:
    sender = asyncio.create_task(_send(websocket, subscriber))
    receiver = asyncio.create_task(_receive(websocket))
    dropped = asyncio.create_task(subscriber.dropped.wait())
    try:
        done, _ = await asyncio.wait(
            {sender, receiver, dropped}, return_when=asyncio.FIRST_COMPLETED
        )
        if dropped in done:
            await websocket.close(TRY_AGAIN_LATER, "too far behind; reconnect for a fresh snapshot")
        for task in done:
            if task is not dropped and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in (sender, receiver, dropped):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(sender, receiver, dropped, return_exceptions=True)


async def _send(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        await websocket.send_text(await subscriber.queue.get())


async def _receive(websocket: WebSocket) -> None:
    """Acknowledgements and pings from the client; anything else gets a plain error back."""
    while True:
        text = await websocket.receive_text()
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await websocket.send_text(
                json.dumps({"type": "error", "detail": "expected a JSON object with a type"})
            )
            continue
        if kind == "ping":
            await websocket.send_text(json.dumps({"type": "pong"}))
        elif kind != "ack":
            await websocket.send_text(
                json.dumps({"type": "error", "detail": f"unknown message type {kind!r}"})
            )
