"""A plain AMI client for the simulator's tests: logs in with every event on and keeps what
it reads, in order, so a test can replay exactly what the server sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from telephony.ami.wire import AmiDecoder
from telephony.simulator import AmiServer

READ_TIMEOUT = 10.0
MARK = {"Event": "UserEvent", "UserEvent": "traffic-test-mark"}  # no Privilege: all get it


class EventClient:
    """Logs in with all events on and keeps every event it reads, in order."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.events: list[dict[str, str]] = []
        self.arrived = asyncio.Event()
        self._decoder = AmiDecoder()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._decoder = AmiDecoder()
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        logins = self.server.logins
        self._writer.write(b"Action: Login\r\nUsername: callassist\r\nSecret: secret\r\n\r\n")
        await self._writer.drain()
        self._task = asyncio.create_task(self._read())
        await self.server.wait_logged_in(logins + 1)

    async def _read(self) -> None:
        assert self._reader is not None
        while data := await self._reader.read(65536):
            for _, message in self._decoder.feed(data):
                if "Event" in message and message["Event"] != "FullyBooted":
                    self.events.append(message)
                    self.arrived.set()

    async def wait_for(self, predicate: Any, timeout: float = READ_TIMEOUT) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not predicate(self.events):
                self.arrived.clear()
                await self.arrived.wait()

    async def catch_up(self) -> list[dict[str, str]]:
        """Every event emitted so far (a marker goes out last and is awaited), the marker cut."""
        await self.server.emit(MARK)
        await self.wait_for(lambda events: bool(events) and is_mark(events[-1]))
        return [e for e in self.events if not is_mark(e)]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await self._task


def is_mark(event: Mapping[str, str]) -> bool:
    return event.get("UserEvent") == MARK["UserEvent"]


