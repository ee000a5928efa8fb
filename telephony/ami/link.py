"""The AMI link: panoramisk 1.4's Manager and protocol with its traps fixed.

What panoramisk 1.4 gets wrong, and what we do instead (each has a test against a real TCP
AMI server in tests/integration/test_ami_link.py):

- It decodes each TCP read on its own, dropping undecodable bytes: a UTF-8 name split across
  two reads loses characters. ``AmiProtocol.data_received`` frames on bytes (wire.py) and
  decodes each whole message.
- It runs event handlers inside the reader: one that raises kills the connection and loses
  the rest of the read, and async ones run fire-and-forget, out of order. Here the reader only
  appends events, in order, to one bounded queue and never blocks; a full queue drops the
  event, counts it and asks the PBX for a fresh picture once there is room again.
- It re-sends the actions in flight when the link dropped, so an Originate dials twice. Here
  nothing is ever re-sent: an action in flight fails with ActionInterrupted and its caller
  decides (a callback looks for its own ChannelId among the live channels).
- It never notices an unanswered Ping, so a half-open link looks alive forever, and it
  reconnects every 2 s forever, hammering a PBX that rejects the password. Here a Ping has a
  timeout that aborts the connection, reconnects back off exponentially with jitter up to a
  cap, and close() cancels a pending reconnect.
- After a reconnect it knows nothing of the calls that changed meanwhile. Here every login is
  followed by CoreShowChannels; its answer goes into the queue, in order with the events, as a
  LiveChannels item for the tracker to reconcile.
- It calls asyncio.get_event_loop(). Here everything runs on the running loop.

panoramisk's Manager chains its lifecycle through callbacks (connection_made -> login future
-> call_later ping), which cannot express a timeout or a cancellable back-off, so AmiLink
replaces that lifecycle with one supervising task. It keeps panoramisk's protocol base, its
Action objects (ActionIDs, multi-message responses such as event lists) and send_action().
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from telephony.ami import actions
from telephony.ami.wire import DEFAULT_MAX_FRAME, AmiDecoder, AmiMessage, EventSieve, event_time

log = logging.getLogger("callassist.ami")


class AmiError(Exception):
    """Something the PBX link could not do; never carries the AMI secret."""


class LinkDown(AmiError):
    """The link is not logged in: nothing was sent."""


class ActionInterrupted(AmiError):
    """The link dropped after the action was sent and before its answer: it may have run."""


class ActionTimeout(AmiError):
    """No answer in time; the action may still run."""


class LinkStatus(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    LOGGING_IN = "logging in"
    CONNECTED = "connected"
    CREDENTIALS_REJECTED = "credentials rejected"
    DOWN = "down"
    CLOSED = "closed"


@dataclass(slots=True)
class LinkState:
    """What an operator sees of the link (status page, IT board, metrics)."""

    status: LinkStatus = LinkStatus.IDLE
    banner: str | None = None
    connected_since: float | None = None
    down_since: float | None = None
    last_error: str | None = None
    messages_received: int = 0
    malformed_skipped: int = 0
    events_ignored: int = 0  # sent by a PBX that did not take our filters; skipped undecoded
    events_dropped: int = 0  # the queue was full; a resync followed
    reconnects: int = 0
    next_attempt_in: float | None = None
    filters_installed: bool = False
    pbx_started_at: float | None = None  # from FullyBooted's Uptime
    pbx_restarts: int = 0


@dataclass(frozen=True, slots=True)
class LinkConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = ""
    secret: str = field(default="", repr=False)
    event_classes: str = actions.EVENT_CLASSES
    events: tuple[str, ...] = actions.WANTED_EVENTS
    variables: tuple[str, ...] = actions.WANTED_VARIABLES
    connect_timeout: float = 5.0
    login_timeout: float = 5.0
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    queue_size: int = 10_000
    max_frame: int = DEFAULT_MAX_FRAME
    resync_interval: float | None = 900.0  # also re-read the live picture this often

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> LinkConfig:
        """``ami://user:secret@host:5038``; a bad URL is refused without echoing the secret."""
        try:
            parts = urlsplit(url)
            port = parts.port or 5038
        except ValueError:
            raise ValueError("the AMI URL is not a URL with a valid port") from None
        if parts.scheme != "ami" or not parts.hostname or not parts.username:
            raise ValueError("the AMI URL must look like ami://user:secret@host:5038")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username),
            secret=unquote(parts.password or ""),
            **overrides,
        )

    @property
    def address(self) -> str:
        """Where the link goes, fit for logs and pages: no credential in it."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class LinkEvent:
    headers: AmiMessage
    at: float  # Asterisk's Timestamp header when sent, else arrival (epoch seconds)
    received: float = 0.0  # arrival, by the link's clock: where the screen-pop latency starts


@dataclass(frozen=True, slots=True)
class LiveChannels:
    """The PBX's live channels (CoreShowChannel events), taken after every (re)connect."""

    channels: tuple[AmiMessage, ...]
    at: float


@dataclass(frozen=True, slots=True)
class LinkLost:
    at: float
    reason: str


LinkItem = LinkEvent | LiveChannels | LinkLost


class AmiProtocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol, reading bytes into whole messages and never running handlers."""

    # Set by panoramisk's connection_made; declared for the type checker.
    responses: dict[str, Any]
    closed: bool
    version: str | None
    transport: asyncio.Transport

    def __init__(self, link: AmiLink) -> None:
        super().__init__()
        self.link = link
        self.lost: asyncio.Future[str] = link.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self.link
        self.log = log
        self.encoding = "utf-8"
        settings = self.link.settings
        sieve = EventSieve(settings.events, settings.variables)
        self.decoder = AmiDecoder(max_frame=settings.max_frame, sieve=sieve)

    def data_received(self, data: bytes) -> None:
        decoder, state = self.decoder, self.link.state
        counts_before = decoder.messages, decoder.malformed, decoder.sieved
        messages = decoder.feed(data)
        if self.version is None and decoder.banner is not None:
            self.version = state.banner = decoder.banner
        state.messages_received += decoder.messages - counts_before[0]
        state.malformed_skipped += decoder.malformed - counts_before[1]
        state.events_ignored += decoder.sieved - counts_before[2]
        for _, headers in messages:
            self.link.received(self, headers)

    def send(self, data: Any, as_list: bool | None = False) -> asyncio.Future[Any]:
        """Like panoramisk's, minus its log line that could print a Login's secret."""
        action = data if isinstance(data, Action) else Action(data, as_list=as_list)
        action.as_list = as_list
        self.responses[action.id] = action
        self.transport.write(str(action).encode("utf-8"))
        future: asyncio.Future[Any] = action.future
        return future

    def complete(self, headers: AmiMessage) -> Action | None:
        """Hand a response to the action waiting for it; the action, if one was waiting."""
        action = self.responses.get(headers.get("ActionID", ""))
        if action is None:
            return None
        self.handle_message(Message(headers))
        return action

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()
        if not self.lost.done():
            self.lost.set_result(str(exc) if exc else "connection closed by the PBX")

    def close(self) -> None:
        """Fail the actions in flight instead of queueing them to be sent again."""
        pending, self.responses = self.responses, {}
        for action in {id(a): a for a in pending.values()}.values():
            if not action.future.done():
                name = action.get("Action", "action")
                action.future.set_exception(
                    ActionInterrupted(f"the AMI link dropped before {name} was answered")
                )
        if not self.closed:
            self.closed = True
            self.transport.close()


class AmiLink(Manager):  # type: ignore[misc]
    """A self-healing AMI session; read its events with ``await link.get()``."""

    def __init__(
        self,
        config: LinkConfig,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(host=config.host, port=config.port, log=log)
        self.settings = config  # panoramisk keeps its own dict in self.config
        self.state = LinkState()
        self.queue: asyncio.Queue[LinkItem] = asyncio.Queue(maxsize=config.queue_size)
        self.protocol: AmiProtocol | None = None
        self._clock = clock
        self._rng = rng
        self._runner: asyncio.Task[None] | None = None
        self._overflowed = False
        self._resyncs: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting on the running loop; the link then keeps itself up until close()."""
        if self._runner is not None:
            return
        self.loop = asyncio.get_running_loop()
        self._runner = self.loop.create_task(self._run(), name="ami-link")

    def close(self) -> None:
        """Stop: cancels a pending reconnect, closes the connection, fails actions in flight."""
        self._set_status(LinkStatus.CLOSED)
        if self._runner is not None:
            self._runner.cancel()
        for task in self._background:
            task.cancel()
        if self.protocol is not None:
            self.protocol.close()

    async def wait_closed(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def get(self) -> LinkItem:
        """The next event, live picture or loss notice, in the order the PBX sent them."""
        return await self.queue.get()

    def snapshot(self) -> LinkState:
        return replace(self.state)

    async def _run(self) -> None:
        failures = 0
        while True:
            protocol = await self._connect()
            if protocol is not None and await self._log_in(protocol):
                failures = 0
                reason = await self._serve(protocol)
                self._went_down(reason)
            else:
                failures += 1
                if protocol is not None:
                    protocol.close()
            await self._back_off(failures)

    async def _connect(self) -> AmiProtocol | None:
        self._set_status(LinkStatus.CONNECTING)
        try:
            _, protocol = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: AmiProtocol(self), self.settings.host, self.settings.port
                ),
                self.settings.connect_timeout,
            )
        except (OSError, TimeoutError) as error:
            self._went_down(f"cannot connect to {self.settings.address}: {error or 'timeout'}")
            return None
        self.protocol = protocol
        return protocol

    async def _log_in(self, protocol: AmiProtocol) -> bool:
        self._set_status(LinkStatus.LOGGING_IN)
        config = self.settings
        try:
            reply = await self._request(
                protocol,
                actions.login(config.username, config.secret, config.event_classes),
                config.login_timeout,
            )
        except AmiError as error:
            self._went_down(f"login to {config.address} got no answer: {error}")
            return False
        if not reply.success:
            self._set_status(LinkStatus.CREDENTIALS_REJECTED)
            self._went_down(f"{config.address} rejected the credentials: {reply.get('Message')}")
            log.error("AMI login rejected by %s", config.address)
            return False
        await self._install_filters(protocol)
        self._set_status(LinkStatus.CONNECTED)
        self.state.connected_since = self._clock()
        self.state.down_since = None
        self.state.last_error = None
        log.info("AMI link up: %s (%s)", config.address, self.state.banner)
        self._resync(protocol)
        return True

    async def _install_filters(self, protocol: AmiProtocol) -> None:
        installed = True
        for expression in actions.event_filters(self.settings.events, self.settings.variables):
            try:
                reply = await self._request(
                    protocol, actions.add_filter(expression), self.settings.login_timeout
                )
            except AmiError:
                installed = False
                break
            installed = installed and bool(reply.success)
        self.state.filters_installed = installed
        if not installed:
            log.warning(
                "AMI event filters not installed (the AMI user needs write=system): "
                "receiving every event of the classes %s",
                self.settings.event_classes,
            )

    async def _serve(self, protocol: AmiProtocol) -> str:
        """Ping while the connection lives; return why it ended."""
        last_resync = self.loop.time()
        while not protocol.lost.done():
            done, _ = await asyncio.wait({protocol.lost}, timeout=self.settings.ping_interval)
            if done:
                break
            if not await self._ping(protocol):
                return f"no answer to Ping within {self.settings.ping_timeout:g} s (half-open link)"
            interval = self.settings.resync_interval
            if interval is not None and self.loop.time() - last_resync >= interval:
                last_resync = self.loop.time()
                self._resync(protocol)
        return protocol.lost.result()

    async def _ping(self, protocol: AmiProtocol) -> bool:
        try:
            await self._request(protocol, actions.ping(), self.settings.ping_timeout)
        except ActionTimeout:
            protocol.transport.abort()
            return False
        except AmiError:
            return True  # the connection is going; _serve sees it end
        return True

    async def _back_off(self, failures: int) -> None:
        """Exponential back-off with jitter, capped: a rejecting PBX is not hammered."""
        ceiling = min(
            self.settings.backoff_max, self.settings.backoff_initial * 2 ** max(failures, 0)
        )
        delay = ceiling * (0.5 + self._rng() / 2)
        self.state.next_attempt_in = delay
        await asyncio.sleep(delay)
        self.state.next_attempt_in = None
        self.state.reconnects += 1

    def _went_down(self, reason: str) -> None:
        if self.protocol is not None:
            self.protocol.close()
            self.protocol = None
        was_up = self.state.status is LinkStatus.CONNECTED
        if self.state.status is not LinkStatus.CREDENTIALS_REJECTED:
            self._set_status(LinkStatus.DOWN)
        self.state.last_error = reason
        self.state.connected_since = None
        if self.state.down_since is None:
            self.state.down_since = self._clock()
        if was_up:
            log.warning("AMI link down: %s", reason)
            self._enqueue(LinkLost(self._clock(), reason))

    def _set_status(self, status: LinkStatus) -> None:
        if self.state.status is not LinkStatus.CLOSED:
            self.state.status = status

    # -- actions ----------------------------------------------------------------------------

    async def send(
        self,
        action: actions.ActionHeaders,
        *,
        answer_within: float = 10.0,
        as_list: bool | None = None,
    ) -> Any:
        """Send an action and wait for its answer. Never re-sent, never queued while down.

        Raises LinkDown (not sent), ActionInterrupted (sent; the link dropped before the
        answer) or ActionTimeout (sent; no answer in time).
        """
        actions.check_headers(action)
        protocol = self.protocol
        if self.state.status is not LinkStatus.CONNECTED or protocol is None:
            raise LinkDown(f"the AMI link is {self.state.status}: {action.get('Action')} not sent")
        return await self._request(protocol, action, answer_within, as_list)

    async def _request(
        self,
        protocol: AmiProtocol,
        action: actions.ActionHeaders,
        answer_within: float,
        as_list: bool | None = None,
    ) -> Any:
        if protocol.closed:
            raise LinkDown(f"the AMI connection is closed: {action.get('Action')} not sent")
        future = protocol.send(Action(dict(action), as_list=as_list), as_list=as_list)
        try:
            return await asyncio.wait_for(asyncio.shield(future), answer_within)
        except TimeoutError:
            name = action.get("Action")
            raise ActionTimeout(f"{name} got no answer in {answer_within:g} s") from None

    def _resync(self, protocol: AmiProtocol) -> None:
        """Ask for the live channels; the answer is queued where it arrives in the stream."""
        if protocol.closed:
            return
        action = Action(actions.core_show_channels(), as_list=True)
        self._resyncs.add(action.id)
        protocol.send(action, as_list=True)
        task = self.loop.create_task(self._forget_resync(action))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _forget_resync(self, action: Action) -> None:
        with contextlib.suppress(AmiError, asyncio.CancelledError):
            await action.future
        self._resyncs.discard(action.id)

    # -- the reader's side: must never raise and never block --------------------------------

    def received(self, protocol: AmiProtocol, headers: AmiMessage) -> None:
        action_id = headers.get("ActionID")
        if action_id is not None:
            action = protocol.complete(headers)
            if action is not None:
                if action_id in self._resyncs and action.future.done():
                    self._queue_live_channels(action_id, action)
                return
        if "Event" in headers:
            if headers["Event"] == "FullyBooted":
                self._note_uptime(headers)
            now = self._clock()
            at = event_time(headers, None)
            self._enqueue(LinkEvent(headers, now if at is None else at, now))

    def _queue_live_channels(self, action_id: str, action: Action) -> None:
        self._resyncs.discard(action_id)
        replies = [dict(m.items()) for m in action.responses]
        if not replies or replies[0].get("Response") != "Success":
            self.state.last_error = "CoreShowChannels was refused: live calls not re-read"
            return
        channels = tuple(r for r in replies if r.get("Event") == "CoreShowChannel")
        self._enqueue(LiveChannels(channels, self._clock()))

    def _note_uptime(self, headers: AmiMessage) -> None:
        """FullyBooted's Uptime dates the PBX's start; a later start means it restarted."""
        try:
            started = self._clock() - float(headers.get("Uptime", ""))
        except ValueError:
            return
        previous = self.state.pbx_started_at
        if previous is not None and started - previous > 5.0:
            self.state.pbx_restarts += 1
            log.warning("the PBX restarted (FullyBooted Uptime %s s)", headers.get("Uptime"))
        self.state.pbx_started_at = started

    def _enqueue(self, item: LinkItem) -> None:
        if self.queue.full():
            self.state.events_dropped += 1
            self._overflowed = True
            return
        if self._overflowed and self.protocol is not None:
            # Events were lost: the tracker's picture may be wrong until it is re-read.
            self._overflowed = False
            log.warning("AMI event queue overflowed: re-reading the live channels")
            self._resync(self.protocol)
        self.queue.put_nowait(item)
