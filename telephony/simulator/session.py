"""One client connection to the simulator: its actions in, its replies and events out.

Writes never wait on the client. ``send`` only queues bytes on the transport; a client whose
queue passes the server's ``max_write_buffer``, or that does not drain it within the
server's ``write_timeout``, is cut off, as Asterisk cuts off a manager client that stops
reading (its ``writetimeout``), so one stuck client never holds up the others.

A message is never interleaved with another: while an event goes out in pieces (a test
splitting it across TCP reads), replies and other events for this session wait behind it,
as they wait behind Asterisk's per-session lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from telephony.ami.wire import AmiFramer
from telephony.simulator.actions import dispatch
from telephony.simulator.delivery import EVENT_CLASSES, EventFilters, mask_allows
from telephony.simulator.messages import parse_action

if TYPE_CHECKING:
    from collections.abc import Mapping

    from telephony.simulator.server import AmiServer

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
CLOSE_TIMEOUT = 1.0  # how long a goodbye may take to flush before the socket is cut


class AmiSession:
    def __init__(
        self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.logged_in = False
        self._login_counted = False
        self.event_mask: frozenset[str] = EVENT_CLASSES  # Asterisk's default: all it may read
        self.event_filters = EventFilters()
        self.challenge: str | None = None
        self.peer: object = writer.get_extra_info("peername")
        self._reader = reader
        self._writer = writer
        self._framer = AmiFramer(expect_banner=False)
        self._split_lock = asyncio.Lock()
        self._held: list[bytes] | None = None  # what was sent while a split message went out

    @property
    def filters(self) -> list[str]:
        """The Filter values the client added, in order, ``!`` kept on exclude filters."""
        return self.event_filters.patterns

    @property
    def closing(self) -> bool:
        return self._writer.transport.is_closing()

    @property
    def listening(self) -> bool:
        """Logged in, connected, and with some event class on."""
        return self.logged_in and bool(self.event_mask) and not self.closing

    def count_login(self) -> None:
        """Count the login with the server once the session receives events (at the Login,
        or at the Events action after a Login with events off), once per session."""
        if self.listening and not self._login_counted:
            self._login_counted = True
            self.server.login_succeeded()

    def wants(self, headers: Mapping[str, str], text: str) -> bool:
        """Would Asterisk deliver this event (``text`` as sent) to this session?"""
        return (
            self.logged_in
            and not self.closing
            and mask_allows(self.event_mask, headers)
            and self.event_filters.allows(text)
        )

    def send(self, data: bytes) -> None:
        """Queue bytes for the client without waiting; cut it off if it has stopped reading."""
        if self._held is not None:
            self._held.append(data)
            return
        self._write(data)

    async def send_in_pieces(self, pieces: list[bytes], *, pause: float | None = None) -> None:
        """One message as separate TCP writes, flushed and spaced apart, nothing in between.

        ``pause`` between pieces defaults to the server's ``piece_pause``; 0 only flushes.
        """
        pause = self.server.piece_pause if pause is None else pause
        async with self._split_lock:
            self._held = []
            try:
                for index, piece in enumerate(pieces):
                    if self.closing:
                        break
                    if index and pause > 0:
                        await asyncio.sleep(pause)
                    self._write(piece)
                    await self.flush()
            finally:
                held, self._held = self._held, None
                for data in held:
                    self._write(data)

    def _write(self, data: bytes) -> None:
        if self.closing:
            return
        self._writer.write(data)
        if self._writer.transport.get_write_buffer_size() > self.server.max_write_buffer:
            log.warning("AMI simulator: client %s stopped reading; disconnecting", self.peer)
            self.abort()

    async def flush(self) -> None:
        """Let queued bytes reach the socket; a client that takes too long is cut off."""
        if self.closing:
            return
        try:
            async with asyncio.timeout(self.server.write_timeout):
                await self._writer.drain()
        except TimeoutError:
            log.warning("AMI simulator: client %s write timed out; disconnecting", self.peer)
            self.abort()
        except OSError:
            self.abort()

    def abort(self) -> None:
        """Cut the connection at once, discarding anything still queued (a network cut)."""
        self._writer.transport.abort()

    async def run(self) -> None:
        """Serve the connection until the client leaves, Asterisk would close it, or a cut."""
        self.send(f"{self.server.banner}\r\n".encode())
        try:
            if await self._serve_actions():
                await self._say_goodbye()
        except OSError:
            pass  # the client or the network cut the connection
        finally:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self._writer.wait_closed()
            self.abort()

    async def _serve_actions(self) -> bool:
        """Read and answer actions; True when the session ended on an action's say-so."""
        while data := await self._reader.read(READ_SIZE):
            for _, frame in self._framer.feed(data):
                action = parse_action(frame)
                self.server.record_action(action)
                if not await dispatch(self, action):
                    return True
                if self.server.on_action is not None:
                    await self.server.on_action(action)
            await self.flush()
        return False

    async def _say_goodbye(self) -> None:
        """Close after the last reply has gone out (Logoff, failed Login), as Asterisk does."""
        await self.flush()
        self._writer.close()
