"""A real TCP server that speaks Asterisk 22's manager interface (AMI).

It is the integration-test peer of the AMI link (no Asterisk in the test environment) and
the demo PBX: clients connect with the same code they use against Asterisk and get the same
bytes back. Tests drive the PBX side from here: ``emit`` events (split across TCP writes if
they want), ``send_raw`` garbage, ``drop_sessions`` for a network cut, ``answer_pings =
False`` for a half-open link, ``play_capture`` to stream a recorded real call,
``set_contact``/``remove_contact`` to register a phone or make it stop answering qualify
(``contacts.add_static`` gives a trunk its static contact first), ``on_action`` to emit
between two of a client's actions.

It listens on loopback unless told otherwise: it accepts the lab's well-known credentials
and must not be reachable from the network by accident.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from telephony.capture import CapturedMessage, read_capture
from telephony.simulator import messages
from telephony.simulator.channels import LiveChannels
from telephony.simulator.contacts import (
    ContactTable,
    check_status,
    contact_status_event,
    default_roundtrip,
)
from telephony.simulator.session import AmiSession

log = logging.getLogger(__name__)

OriginateHook = Callable[[dict[str, str]], Awaitable[None]]
# Runs after each action is answered, before the session reads its next one: a test emits
# there what the PBX does between two of a client's actions.
ActionHook = Callable[[dict[str, str]], Awaitable[None]]

# Big enough for any burst a healthy client falls behind on (a whole recorded capture is
# under 1 MiB); a client this far behind has stopped reading.
DEFAULT_MAX_WRITE_BUFFER = 4 * 1024 * 1024
# Asterisk's writetimeout is 100 ms; tests share one event loop with their clients, so give
# a busy loop more room before calling a client dead.
DEFAULT_WRITE_TIMEOUT = 2.0
# Between the pieces of a split event, so that a client in another process reads them
# separately too. Replies queue behind a split event (nothing is interleaved), so a long
# split delays Pongs: 400 pieces take 2 s, more than a tight ping timeout allows.
DEFAULT_PIECE_PAUSE = 0.005
# What a recorder's own login leaves at the head of a capture; not part of the traffic.
_PREAMBLE_EVENTS = frozenset({"FullyBooted", "SuccessfulAuth"})
# play_capture(timestamps="recorded") stamps an event at this base plus its recorded time: a
# fixed base (late 2026, like the lab's clock), so that every play of a capture carries the
# same Timestamps and a live client computes the durations an offline replay does.
RECORDED_TIMESTAMP_BASE = 1795000000.0

Timestamps = Literal["server", "recorded"]


class AmiServer:
    def __init__(
        self,
        *,
        username: str = "callassist",
        secret: str = "secret",
        host: str = "127.0.0.1",
        port: int = 0,
        banner: str = "Asterisk Call Manager/11.0.0",
        uptime: int = 1000,
        timestampevents: bool = False,
        write_classes: Iterable[str] = ("all",),
    ) -> None:
        self.username = username
        self.secret = secret
        self.host = host
        self.port = port
        self.banner = banner
        self.uptime = uptime  # FullyBooted's Uptime, CoreStatus's start: lower it to restart
        self._made_at = time.time()
        self.timestampevents = timestampevents
        self.answer_pings = True  # False: Pings get no reply at all (a half-open link)
        # False: Originates are taken (recorded, hook run) but never answered, as when the
        # link drops while Asterisk is still dialling a synchronous Originate.
        self.answer_originates = True
        self.on_originate: OriginateHook | None = None  # runs once an Originate is taken
        self.on_action: ActionHook | None = None  # runs between two of a session's actions
        self.max_write_buffer = DEFAULT_MAX_WRITE_BUFFER
        self.write_timeout = DEFAULT_WRITE_TIMEOUT
        self.piece_pause = DEFAULT_PIECE_PAUSE
        self.actions: list[dict[str, str]] = []
        self.sessions: list[AmiSession] = []
        # Logins that receive events (at the Login, or at the Events action after one with
        # events off): Asterisk drops what a session has off, so tests wait for these.
        self.logins = 0
        self.channels = LiveChannels()
        self.contacts = ContactTable()  # registered PJSIP phones; PJSIPShowContacts reads it
        # The AMI user's manager.conf ``write =`` classes: an action is let through when
        # they hold any of its classes (ListCommands lists those; Login, Ping, Events and the
        # like need none); the rest get "Permission denied". Default: all, as ``write = all``.
        self.write_classes: set[str] = set(write_classes)
        # Context -> its extensions, for ShowDialPlan: the shipped callback and probe contexts.
        self.dialplan: dict[str, set[str]] = {
            "callassist-callback": {"_X.", "_+X."},
            "callassist-probe": {"*77"},
        }
        self._listener: asyncio.Server | None = None
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self._progress = asyncio.Event()

    @property
    def started_at(self) -> float:
        """When the PBX started (CoreStatus), as epoch seconds: ``uptime`` before the server
        was made, so a lower ``uptime`` is a later start, a restart."""
        return self._made_at - self.uptime

    @property
    def live_channels(self) -> dict[str, dict[str, str]]:
        """Uniqueid -> the channel's current snapshot, BridgeId, Application(Data)."""
        return self.channels.table

    async def start(self) -> None:
        self._listener = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._listener.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening, cut every session and cancel running Originate hooks."""
        if self._listener is not None:
            self._listener.close()
        await self.drop_sessions()
        for task in list(self._hook_tasks):
            task.cancel()
        await asyncio.gather(*self._hook_tasks, return_exceptions=True)
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        task = asyncio.current_task()
        assert task is not None  # asyncio runs every connection in a task of its own
        self._session_tasks.add(task)
        self.sessions.append(session)
        try:
            await session.run()
        finally:
            self.sessions.remove(session)
            self._session_tasks.discard(task)
            self._notify()

    # -- what sessions report -------------------------------------------------------------

    def record_action(self, action: dict[str, str]) -> None:
        self.actions.append(action)
        self._notify()

    def login_succeeded(self) -> None:
        self.logins += 1
        self._notify()

    def originate_requested(self, action: dict[str, str]) -> None:
        if self.on_originate is None:
            return
        task = asyncio.create_task(_run_hook(self.on_originate, dict(action)))
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_done)

    def _hook_done(self, task: asyncio.Task[None]) -> None:
        self._hook_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI simulator: on_originate failed", exc_info=task.exception())

    # -- waiting for the client -----------------------------------------------------------
    # These take ``timeout`` themselves (against ruff's ASYNC109) so that a test that waits for
    # something that never comes fails with a message saying what it waited for.

    async def wait_logged_in(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until ``count`` logins in total since the server was made receive events
        (``logins``): an event emitted after this reaches them."""
        await self._wait_until(lambda: self.logins >= count, timeout, f"{count} login(s)")

    async def wait_for_action(
        self,
        name: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, str]]:
        """Until ``count`` actions of that name (any case) arrived; returns all of them."""

        def matching() -> list[dict[str, str]]:
            wanted = name.lower()
            return [a for a in self.actions if messages.header(a, "Action").lower() == wanted]

        await self._wait_until(lambda: len(matching()) >= count, timeout, f"{count} {name}")
        return matching()

    async def _wait_until(self, ready: Callable[[], bool], limit: float, what: str) -> None:
        try:
            async with asyncio.timeout(limit):
                while not ready():
                    await self._progress.wait()
        except TimeoutError:
            raise TimeoutError(f"AMI simulator: no {what} within {limit} s") from None

    def _notify(self) -> None:
        """Wake every waiter; they re-check their condition on a fresh event."""
        self._progress.set()
        self._progress = asyncio.Event()

    # -- driving the PBX side -------------------------------------------------------------

    async def emit(
        self,
        headers: Mapping[str, str],
        *,
        chunks: Sequence[int] | Callable[[], int] | None = None,
        timestamp: float | None = None,
        piece_pause: float | None = None,
    ) -> None:
        """Send one event to every logged-in session whose mask and filters let it through.

        ``chunks`` splits the bytes into TCP writes of those lengths (the rest goes last), or
        of lengths drawn from a callable until the event is covered; each piece is flushed,
        and pieces are ``piece_pause`` apart (default: the server's) so that a client reads
        them separately. ``timestamp`` stamps the event with that time, whatever
        ``timestampevents`` says (a replay's recorded time).
        """
        self.channels.observe(headers, time.monotonic())
        self.contacts.observe(headers, time.time())
        if timestamp is None and self.timestampevents:
            timestamp = time.time()
        data = messages.event(headers, timestamp=timestamp)
        text = data.decode("utf-8", "replace")
        targets = [session for session in self.sessions if session.wants(headers, text)]
        if chunks:
            sizes = _draw_sizes(chunks, len(data)) if callable(chunks) else chunks
            pieces = _split(data, sizes)
            await asyncio.gather(
                *(session.send_in_pieces(pieces, pause=piece_pause) for session in targets)
            )
        else:
            await self._write(targets, data)

    async def set_contact(
        self,
        endpoint: str,
        status: str = "Reachable",
        roundtrip_usec: int | None = None,
    ) -> None:
        """Register ``endpoint``'s phone (``PJSIP/1001`` or ``1001``) or change how it qualifies.

        Emits what Asterisk 22 emits: for a new registration ``ContactStatus: NonQualified``
        and then, once qualified, the status; for a changed status one ``ContactStatus``; for a
        new round-trip time alone nothing (Asterisk only reports status changes).
        ``roundtrip_usec`` defaults to the lab's 751 us when Reachable, else 0.
        """
        check_status(status)
        rtt = default_roundtrip(status) if roundtrip_usec is None else roundtrip_usec
        current = self.contacts.get(endpoint)
        if current is not None and current.status == status:
            self.contacts.register(endpoint, status=status, roundtrip_usec=rtt, now=time.time())
            return
        if current is None:
            current = self.contacts.fresh(endpoint, now=time.time())
            if status != "NonQualified":
                await self.emit(contact_status_event(current, "NonQualified", 0))
        await self.emit(contact_status_event(current, status, rtt))

    async def remove_contact(self, endpoint: str) -> None:
        """Unregister ``endpoint``'s phone: ``ContactStatus: Removed``, as Asterisk says it.
        A static contact (a trunk's, ``contacts.add_static``) is configuration: it stays."""
        current = self.contacts.get(endpoint)
        if current is not None and not current.static:
            await self.emit(contact_status_event(current, "Removed", 0))

    async def send_raw(self, data: bytes) -> None:
        """Bytes as they are to every connected session, logged in or not."""
        await self._write(list(self.sessions), data)

    async def drop_sessions(self) -> None:
        """Cut every client connection at once, like a network failure, and wait them out."""
        for session in list(self.sessions):
            session.abort()
        await asyncio.gather(*self._session_tasks, return_exceptions=True)

    async def play_capture(
        self,
        path: Path,
        *,
        speed: float = 0.0,
        timestamps: Timestamps = "server",
        timestamp_base: float = RECORDED_TIMESTAMP_BASE,
        hold_when_disconnected: bool = False,
        write_sizes: Callable[[], int] | None = None,
    ) -> int:
        """Stream a recorded capture's events through ``emit``; returns how many were sent.

        Responses are left out (they answered the recorder's own actions), and so is the
        FullyBooted/SuccessfulAuth of the recorder's login. ``speed`` 0 sends as fast as the
        clients take them; 1.0 keeps the recorded gaps; 2.0 halves them.

        ``timestamps``: "server" stamps events as ``timestampevents`` says; "recorded" stamps
        each with ``timestamp_base`` + its recorded time, so a live client's durations equal
        an offline replay's. ``hold_when_disconnected`` pauses the stream while no session is
        logged in and goes on, with the next event and the recorded gaps, once one is: a
        test can cut the link mid-call, between two events, without losing any (an event
        cut while being written is lost, as on a real link).
        ``write_sizes`` sends each event in TCP writes of the sizes it returns, flushed one by
        one with no pause, as a busy PBX's small writes arrive.
        """
        if speed < 0:
            raise ValueError(f"speed must be 0 or more, not {speed}")
        if timestamps not in ("server", "recorded"):
            raise ValueError(f'timestamps must be "server" or "recorded", not {timestamps!r}')
        recorded = await asyncio.to_thread(lambda: list(read_capture(path)))
        pacer = _Pacer(speed)
        sent = 0
        for message in _traffic(recorded):
            await pacer.wait_for(message.at)
            if hold_when_disconnected:
                pacer.delay(await self._until_someone_listens())
            stamp = None
            if timestamps == "recorded" and message.at is not None:
                stamp = timestamp_base + message.at
            await self.emit(message.headers, chunks=write_sizes, timestamp=stamp, piece_pause=0.0)
            sent += 1
        return sent

    async def _until_someone_listens(self) -> float:
        """Wait until a session receives events; how long that took, in seconds."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not any(s.listening for s in self.sessions):
            await self._progress.wait()
        return loop.time() - started

    async def _write(self, sessions: Iterable[AmiSession], data: bytes) -> None:
        targets = list(sessions)
        for session in targets:
            session.send(data)
        await asyncio.gather(*(session.flush() for session in targets))


async def _run_hook(hook: OriginateHook, action: dict[str, str]) -> None:
    await hook(action)


def _draw_sizes(draw: Callable[[], int], length: int) -> list[int]:
    """Sizes from ``draw`` until they cover ``length`` bytes."""
    sizes: list[int] = []
    covered = 0
    while covered < length:
        size = draw()
        if size <= 0:
            raise ValueError(f"write sizes must be positive, not {size}")
        sizes.append(size)
        covered += size
    return sizes


def _split(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    if any(size <= 0 for size in sizes):
        raise ValueError(f"chunk sizes must be positive: {list(sizes)}")
    pieces: list[bytes] = []
    start = 0
    for size in sizes:
        if start >= len(data):
            break
        pieces.append(data[start : start + size])
        start += size
    if start < len(data):
        pieces.append(data[start:])
    return pieces


def _traffic(recorded: list[CapturedMessage]) -> list[CapturedMessage]:
    """The capture's events, without responses and without the recorder's login preamble."""
    events = [message for message in recorded if "Event" in message.headers]
    start = 0
    while start < len(events) and events[start].headers["Event"] in _PREAMBLE_EVENTS:
        start += 1
    return events[start:]


class _Pacer:
    """Sleeps so that recorded times are replayed at ``speed`` x real time (0: no waiting)."""

    def __init__(self, speed: float) -> None:
        self._speed = speed
        self._origin: tuple[float, float] | None = None  # (recorded time, loop time)

    def delay(self, seconds: float) -> None:
        """Shift what is still to come by ``seconds`` (the stream was held that long)."""
        if self._origin is not None and seconds > 0:
            recorded_start, loop_start = self._origin
            self._origin = (recorded_start, loop_start + seconds)

    async def wait_for(self, at: float | None) -> None:
        if not self._speed or at is None:
            return
        loop = asyncio.get_running_loop()
        if self._origin is None:
            self._origin = (at, loop.time())
            return
        recorded_start, loop_start = self._origin
        delay = loop_start + (at - recorded_start) / self._speed - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
