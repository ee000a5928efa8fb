"""A bare AMI client for the simulator's tests: it writes header blocks and reads raw
messages, so a test sees exactly what the server sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from telephony.ami.wire import parse_message

READ_TIMEOUT = 5.0


class Client:
    """A bare AMI client: it writes header blocks and reads raw messages, nothing more."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, **headers: str) -> None:
        await self.send_lines(list(headers.items()))

    async def send_lines(self, headers: Sequence[tuple[str, str]]) -> None:
        """One action from header lines in the given order; a name may repeat (Variable)."""
        block = "".join(f"{key}: {value}\r\n" for key, value in headers)
        self.writer.write(f"{block}\r\n".encode())
        await self.writer.drain()

    async def raw(self) -> bytes:
        """The next whole message, terminator included."""
        async with asyncio.timeout(READ_TIMEOUT):
            return await self.reader.readuntil(b"\r\n\r\n")

    async def message(self) -> dict[str, str]:
        parsed, damaged = parse_message((await self.raw())[:-4])
        assert parsed is not None
        assert not damaged
        return parsed

    async def until(self, event: str) -> list[dict[str, str]]:
        """Messages up to and including the first ``Event: <event>``."""
        seen = [await self.message()]
        while seen[-1].get("Event") != event:
            seen.append(await self.message())
        return seen

    async def login(self, events: str = "on") -> None:
        await self.send(Action="Login", Username="callassist", Secret="secret", Events=events)
        assert (await self.message())["Message"] == "Authentication accepted"
        if events == "on" or "system" in events.split(","):
            assert (await self.message())["Event"] == "FullyBooted"

    async def closed_by_server(self) -> bool:
        """True once the server has closed or cut the connection (EOF or reset)."""
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                while await self.reader.read(65536):
                    pass
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return True

    async def quiet_for(self, seconds: float) -> bool:
        """True if nothing at all arrives for that long."""
        try:
            async with asyncio.timeout(seconds):
                await self.reader.read(1)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def core_show_channels(client: Client, action_id: str) -> list[dict[str, str]]:
    await client.send(Action="CoreShowChannels", ActionID=action_id)
    assert (
        await client.raw()
        == (
            f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n"
            "Message: Channels will follow\r\n\r\n"
        ).encode()
    )
    listed = await client.until("CoreShowChannelsComplete")
    complete = listed.pop()
    assert complete == {
        "Event": "CoreShowChannelsComplete",
        "ActionID": action_id,
        "EventList": "Complete",
        "ListItems": str(len(listed)),
    }
    return listed
