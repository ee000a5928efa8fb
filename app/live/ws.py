"""``/ws``: live updates for a logged-in user, a snapshot first and then every change.

Browsers cannot set headers on a WebSocket, so the token comes in the query string; the
Origin header is checked so that another site's page cannot ride on a user's login.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from app.auth.deps import user_from_token, viewer_of
from app.db.tables import User
from app.live.hub import Subscriber
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
        user, expires_at = await run_in_threadpool(_user, services, token)
    except HTTPException as refused:
        await websocket.close(POLICY_VIOLATION, str(refused.detail))
        return
    await websocket.accept()
    subscriber = services.hub.subscribe(user.username, user.role, user.endpoint)
    try:
        # No await between subscribing and taking the snapshot: nothing can fall in between.
        await websocket.send_text(json.dumps(_snapshot(services, user), ensure_ascii=False))
        await _serve(websocket, services, subscriber, expires_at)
    except WebSocketDisconnect:
        pass
    finally:
        services.hub.unsubscribe(subscriber)


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """No Origin: not a browser, nothing to protect. Else our own origin or an allowed one."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    host = websocket.headers.get("host", "")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin.rstrip("/") in {f"{scheme}://{host}", *allowed}


def _user(services: Services, token: str | None) -> tuple[User, float]:
    """The token's user, and when the login runs out (the connection closes then too)."""
    with services.database.session() as session:
        user = user_from_token(services, session, token)
    return user, services.signer.verify(token or "").expires_at


def _snapshot(services: Services, user: User) -> dict[str, Any]:
    pipeline = services.pipeline
    calls = pipeline.live_calls(viewer_of(user)) if pipeline else []
    link = services.link.snapshot().status if services.link else "not configured"
    # The agent's own phone in a fault state: the console's equipment check survives a reload.
    fault = pipeline.board.watch.faulted.get(user.endpoint) if pipeline and user.endpoint else None
    return {
        "type": "snapshot",
        "id": services.hub.next_id(),
        "calls": calls,
        "link": str(link),
        "endpoint_fault": fault,
    }


async def _serve(
    websocket: WebSocket, services: Services, subscriber: Subscriber, expires_at: float
) -> None:
    sender = asyncio.create_task(_send(websocket, subscriber))
    receiver = asyncio.create_task(_receive(websocket, services, subscriber))
    dropped = asyncio.create_task(subscriber.dropped.wait())
    expired = asyncio.create_task(asyncio.sleep(max(0.0, expires_at - time.time())))
    tasks = {sender, receiver, dropped, expired}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if dropped in done:
            await websocket.close(TRY_AGAIN_LATER, "too far behind; reconnect for a fresh snapshot")
        elif expired in done:
            await websocket.close(POLICY_VIOLATION, "the login has expired; log in again")
        for task in done & {sender, receiver}:
            error = task.exception()
            if error is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _send(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        await websocket.send_text(await subscriber.queue.get())


async def _receive(websocket: WebSocket, services: Services, subscriber: Subscriber) -> None:
    """Acknowledgements and pings from the client; anything else gets a plain error back."""
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(frame.get("code", 1000))
        try:
            message = json.loads(frame.get("text") or frame.get("bytes") or b"")
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            await _reply(
                websocket, {"type": "error", "detail": "expected a JSON object with a type"}
            )
            continue
        if kind == "ping":
            await _reply(websocket, {"type": "pong", "sent": message.get("sent")})
        elif kind == "ack":
            _acknowledge(services, subscriber, message.get("id"))
        else:
            await _reply(websocket, {"type": "error", "detail": f"unknown message type {kind!r}"})


def _acknowledge(services: Services, subscriber: Subscriber, message_id: object) -> None:
    """A pop reached the console; acknowledgements of other messages need nothing."""
    if services.pipeline is not None and isinstance(message_id, int):
        services.pipeline.pops.acked(message_id, subscriber.endpoint, time.time())


async def _reply(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(message))
