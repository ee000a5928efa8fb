"""``/ws``: live updates for a logged-in user, a snapshot first and then every change.

Browsers cannot set headers on a WebSocket, so the token comes in the query string; the
Origin header is checked so that another site's page cannot ride on a user's login.

A login ended in this process (logout, disable, new password: ``Hub.end_logins``) closes
the socket at once; one ended elsewhere (the CLI, another instance) within
``ws_login_check_seconds``, when the socket checks its token again. Either way the close code
is 1008, which the pages read as "log in again".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from app.auth.deps import login_of, viewer_of
from app.auth.tokens import SignerDep
from app.auth.watch import LoginWatchDep
from app.db.engine import DatabaseDep
from app.db.tables import User
from app.live.calls import LiveCalls, LiveCallsDep
from app.live.hub import Hub, HubDep, Subscriber
from app.live.relay import Relay, RelayDep, RelayDown
from app.ownership.answers import AtOwner, AtOwnerDep
from app.settings import SettingsDep

router = APIRouter()
log = logging.getLogger("callassist.ws")

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


@router.websocket("/ws")
async def live_updates(
    websocket: WebSocket,
    *,
    settings: SettingsDep,
    database: DatabaseDep,
    signer: SignerDep,
    hub: HubDep,
    live: LiveCallsDep,
    relay: RelayDep,
    owner: AtOwnerDep,
    logins: LoginWatchDep,
    token: str | None = None,
) -> None:
    if not origin_allowed(websocket, settings.origins):
        await websocket.close(POLICY_VIOLATION, "origin not allowed")
        return
    try:
        login = await login_of(database, signer, token)
    except HTTPException as refused:
        await websocket.close(POLICY_VIOLATION, str(refused.detail))
        return
    user, claims = login.user, login.claims
    await websocket.accept()
    subscriber = hub.subscribe(
        user.username, user.role, user.endpoint, claims.token_id, pbx=user.pbx
    )
    watch_key, watched = logins.watch(claims)
    try:
        # Subscribed first, then the snapshot: a change made meanwhile is in the snapshot or
        # in the queue after it (here: no await between; elsewhere the relay writes the
        # owner's view in the same transaction as each message).
        try:
            snapshot = await _snapshot(hub, live, owner, user)
        except RelayDown as down:
            await websocket.close(TRY_AGAIN_LATER, f"live updates unavailable here: {down}")
            return
        await websocket.send_text(json.dumps(snapshot, ensure_ascii=False))
        acks = Acks(live, relay)
        await _serve(websocket, acks, subscriber, claims.expires_at, watched.ended)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)
        logins.forget(watch_key)


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """No Origin: not a browser, nothing to protect. Else our own origin or an allowed one."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    host = websocket.headers.get("host", "")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin.rstrip("/") in {f"{scheme}://{host}", *allowed}


async def _snapshot(hub: Hub, live: LiveCalls, owner: AtOwner, user: User) -> dict[str, Any]:
    message_id = hub.next_id()
    calls, link = await live.calls(viewer_of(user))
    # The agent's own phone in a fault state: the console's equipment check survives a reload.
    fault = await owner.endpoint_fault(user.pbx, user.endpoint) if user.endpoint else None
    return {
        "type": "snapshot",
        "id": message_id,
        "calls": calls,
        "link": link,
        "endpoint_fault": fault,
    }


@dataclass(frozen=True)
class Acks:
    """Where a console's acknowledgement of a pop goes: the pop ledger here if this instance
    owns the PBX (it sent the pop), else the owner's through the relay."""

    live: LiveCalls
    relay: Relay

    def take(self, message_id: object, endpoint: str | None) -> None:
        if not isinstance(message_id, int):
            return  # acknowledgements of other messages need nothing
        at = time.time()
        if not self.live.acked(message_id, endpoint, at):
            self.relay.ack(message_id, endpoint, at)


async def _serve(
    websocket: WebSocket,
    acks: Acks,
    subscriber: Subscriber,
    expires_at: float,
    login_ended: asyncio.Event,
) -> None:
    sender = asyncio.create_task(_send(websocket, subscriber))
    receiver = asyncio.create_task(_receive(websocket, acks, subscriber))
    dropped = asyncio.create_task(subscriber.dropped.wait())
    expired = asyncio.create_task(asyncio.sleep(max(0.0, expires_at - time.time())))
    ended = asyncio.create_task(subscriber.ended.wait())
    watched = asyncio.create_task(login_ended.wait())
    tasks = {sender, receiver, dropped, expired, ended, watched}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if done & {ended, watched}:
            await websocket.close(POLICY_VIOLATION, "this login has been ended; log in again")
        elif dropped in done:
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


async def _receive(websocket: WebSocket, acks: Acks, subscriber: Subscriber) -> None:
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
            acks.take(message.get("id"), subscriber.endpoint)
        else:
            await _reply(websocket, {"type": "error", "detail": f"unknown message type {kind!r}"})


async def _reply(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(message))
