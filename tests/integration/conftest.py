"""The simulator peer most integration tests share: a server stamping its events, and a plain
client reading all of them. A module that needs another kind defines its own fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from telephony.simulator import AmiServer
from tests.integration.event_client import EventClient


@pytest_asyncio.fixture
async def server() -> AsyncIterator[AmiServer]:
    ami = AmiServer(timestampevents=True)
    await ami.start()
    try:
        yield ami
    finally:
        await ami.close()


@pytest_asyncio.fixture
async def client(server: AmiServer) -> AsyncIterator[EventClient]:
    reader = EventClient(server)
    await reader.connect()
    try:
        yield reader
    finally:
        await reader.close()
