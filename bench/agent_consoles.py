"""The screen-pop benchmark's agents: one WebSocket client per agent, all on one event loop.

Each does what the agent console does with a pop: takes the snapshot, then answers every
message marked ``"ack": true`` with ``{"type": "ack", "id": ...}`` and treats a repeated id
as the same pop. What it records is the pop's latency, from ``received_at`` (when the
service's AMI link read the frame, the service's ``time.time()``) to the moment this loop
got the message (same machine, same clock). A monitor task measures how late this loop
wakes up, so a slow client cannot pass for a slow service.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HANDSHAKES_AT_ONCE = 50
LAG_TICK = 0.01
PING_EVERY = 10.0  # as frontend/shared/live.js does, to see that the link is alive


@dataclass(frozen=True, slots=True)
class PopSeen:
    received_at: float  # the service read the AMI frame behind it
    latency: float  # seconds until this client had it
    kind: str  # call.ringing or call.answered


@dataclass(slots=True)
class Tally:
    pops: list[PopSeen] = field(default_factory=list)  # first copies only
    resent: list[float] = field(default_factory=list)  # received_at of each re-sent copy
    repeats: int = 0  # copies of an id already seen (resent ones, as a rule)
    messages: int = 0
    snapshots: int = 0
    reconnects: int = 0
    lag: list[tuple[float, float]] = field(default_factory=list)  # (when, how late)


class Consoles:
    """N agents' consoles connected to ``/ws`` until ``close``."""

    def __init__(self, base_urls: list[str], tokens: list[str]) -> None:
        """Console i connects to base_urls[i % len(base_urls)]: several instances share
        the consoles, as a proxy in front of them would spread them."""
        self._urls = [
            f"{base_urls[index % len(base_urls)]}/ws?token={token}"
            for index, token in enumerate(tokens)
        ]
        self.tally = Tally()
        self._tasks: list[asyncio.Task[None]] = []
        self._handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
        self._connected = 0
        self._all_connected = asyncio.Event()

    async def open(self, timeout: float) -> None:  # noqa: ASYNC109
        """Connect every console and wait for all snapshots."""
        self._tasks.append(asyncio.create_task(self._watch_lag()))
        self._tasks += [asyncio.create_task(self._console(url)) for url in self._urls]
        async with asyncio.timeout(timeout):
            await self._all_connected.wait()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _console(self, url: str) -> None:
        first = True
        while True:
            try:
                async with self._handshakes:
                    # No protocol-level keepalive: a browser sends none; the console's own
                    # JSON ping is what it sends (see _ping).
                    websocket = await connect(
                        url, open_timeout=60, max_size=2**22, ping_interval=None
                    )
                async with websocket:
                    pinger = asyncio.create_task(self._ping(websocket))
                    try:
                        await self._follow(websocket, first)
                    finally:
                        pinger.cancel()
            except (ConnectionClosed, OSError, TimeoutError):
                pass
            self.tally.reconnects += 1  # the service dropped it: a console reconnects
            first = False
            await asyncio.sleep(0.5)

    async def _follow(self, websocket: ClientConnection, first: bool) -> None:
        json.loads(await websocket.recv())
        self.tally.snapshots += 1
        if first:
            self._connected += 1
            if self._connected == len(self._urls):
                self._all_connected.set()
        seen: set[int] = set()
        tally = self.tally
        async for text in websocket:
            now = time.time()
            message = json.loads(text)
            tally.messages += 1
            if not message.get("ack"):
                continue
            message_id = message["id"]
            await websocket.send(json.dumps({"type": "ack", "id": message_id}))
            if "resent" in message:
                tally.resent.append(message["received_at"])
            if message_id in seen:
                tally.repeats += 1
                continue
            seen.add(message_id)
            received_at = message["received_at"]
            tally.pops.append(PopSeen(received_at, now - received_at, message["type"]))

    async def _ping(self, websocket: ClientConnection) -> None:
        """Every 10 s, at a phase of its own: consoles are opened at different times."""
        await asyncio.sleep(random.uniform(0, PING_EVERY))
        while True:
            await websocket.send(json.dumps({"type": "ping", "sent": time.time() * 1000}))
            await asyncio.sleep(PING_EVERY)

    async def _watch_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_TICK
            await asyncio.sleep(LAG_TICK)
            self.tally.lag.append((time.time(), max(0.0, loop.time() - due)))
