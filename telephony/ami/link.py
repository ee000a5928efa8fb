"""The AMI link: panoramisk 1.4's Manager and protocol with its traps fixed.

What panoramisk 1.4 gets wrong, and what we do instead (each has a test against a real TCP
AMI server in tests/integration/test_ami_link.py):

- It decodes each TCP read on its own, dropping undecodable bytes: a UTF-8 name split across
  two reads loses characters. ``AmiProtocol.data_received`` (protocol.py) frames on bytes
  (wire.py) and decodes each whole message.
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
- It logs in with its events on. Asterisk applies each Filter action as it comes and keeps
  no event a session's mask or filters refuse, so events on while the filters go in one by
  one would bring half a call (its Newchannel, not its recording's VarSet). Here the Login
  leaves the events off; the filters go in, then the Events action turns on the classes the
  product reads, then comes the channel list below.
- After a reconnect it knows nothing of the calls that changed meanwhile. Here every login is
  followed by CoreShowChannels; its answer goes into the queue, in order with the events, as a
  LiveChannels item for the tracker to reconcile.
- It calls asyncio.get_event_loop(). Here everything runs on the running loop.

panoramisk's Manager chains its lifecycle through callbacks (connection_made -> login future
-> call_later ping), which cannot express a timeout or a cancellable back-off, so AmiLink
replaces that lifecycle with one supervising task. It keeps panoramisk's protocol base and its
Action objects (ActionIDs, multi-message responses such as event lists); what an action gets
back leaves as a plain Reply. This module is the link's face: the names the service uses
(errors, config, state, queue items, Reply) are importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action

from telephony.ami import actions
from telephony.ami.config import LinkConfig
from telephony.ami.errors import ActionInterrupted, ActionTimeout, AmiError, LinkDown
from telephony.ami.items import LinkEvent, LinkItem, LinkLost, LiveChannels
from telephony.ami.protocol import AmiProtocol, reply_of
from telephony.ami.replies import Reply
from telephony.ami.state import LinkState, LinkStatus
from telephony.ami.wire import AmiMessage, event_time

__all__ = [
    "ActionInterrupted",
    "ActionTimeout",
    "AmiError",
    "AmiLink",
    "LinkConfig",
    "LinkDown",
    "LinkEvent",
    "LinkItem",
    "LinkLost",
    "LinkState",
    "LinkStatus",
    "LiveChannels",
    "Reply",
]

log = logging.getLogger("callassist.ami")


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
        self.state.status = LinkStatus.IDLE  # closed before: started again (a new term)
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
        """Wait for the runner's end; the link may then be started again (a new term of
        ownership in app/ownership), with an empty queue."""
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None

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
        """Log in with events off, install the filters, then turn the events on, and only
        then re-read the live channels: Asterisk applies each Filter as it comes, so events
        on during the installation would pass some filters and not the others (a call's
        Newchannel without its recording's VarSet). What happens while the events are off
        is not sent later (Asterisk keeps no events for a session that refuses them); the
        channel list that follows brings those calls."""
        self._set_status(LinkStatus.LOGGING_IN)
        config = self.settings
        try:
            reply = await self._request(
                protocol, actions.login(config.username, config.secret), config.login_timeout
            )
        except AmiError as error:
            self._went_down(f"login to {config.address} got no answer: {error}")
            return False
        if not reply.success:
            self._set_status(LinkStatus.CREDENTIALS_REJECTED)
            self._went_down(f"{config.address} rejected the credentials: {reply.message}")
            log.error("AMI login rejected by %s", config.address)
            return False
        permitted = await self._permitted_actions(protocol)
        await self._install_filters(protocol, permitted)
        if not await self._turn_events_on(protocol):
            return False
        await self._note_pbx_start(protocol, permitted)
        self._set_status(LinkStatus.CONNECTED)
        self.state.connected_since = self._clock()
        self.state.down_since = None
        self.state.last_error = None
        log.info("AMI link up: %s (%s)", config.address, self.state.banner)
        self._resync(protocol)
        return True

    async def _permitted_actions(self, protocol: AmiProtocol) -> frozenset[str]:
        """The actions this user may send, lower-cased; none when ListCommands (no class
        needed) gets no answer. Asking first spares a refused action, which Asterisk logs as
        a security event at every login."""
        try:
            reply = await self._request(
                protocol, actions.list_commands(), self.settings.login_timeout
            )
        except AmiError:
            return frozenset()
        if not reply.success:
            return frozenset()
        return frozenset(name.lower() for name in reply.headers)

    async def _install_filters(self, protocol: AmiProtocol, permitted: frozenset[str]) -> None:
        """Install the event filters in the session, if the AMI user may (``Filter`` needs
        write class ``system``, which the shipped user has not: its filters are manager.conf's
        ``eventfilter`` lines). Either way the local sieve (wire.EventSieve) skips what the
        product does not use."""
        self.state.filters_installed = False
        if "filter" not in permitted:
            log.info(
                "AMI user without write=system: no Filter action; the event filters are "
                "manager.conf's eventfilter lines, and the link skips any other event itself"
            )
            return
        for expression in actions.event_filters(self.settings.events, self.settings.variables):
            try:
                reply = await self._request(
                    protocol, actions.add_filter(expression), self.settings.login_timeout
                )
            except AmiError:
                reply = None
            if reply is None or not reply.success:
                log.warning(
                    "AMI event filters not installed (%s): the link skips unused events itself",
                    "no answer" if reply is None else reply.message,
                )
                return
        self.state.filters_installed = True

    async def _turn_events_on(self, protocol: AmiProtocol) -> bool:
        """The ``Events`` action, after the filters (the login left the events off). Without
        it the session would hear nothing: a refusal or no answer fails the login, and the
        link tries again after its back-off."""
        classes = self.settings.event_classes
        try:
            reply = await self._request(
                protocol, actions.events(classes), self.settings.login_timeout
            )
        except AmiError as error:
            self._went_down(f"turning the AMI events on got no answer: {error}")
            return False
        if not reply.success:
            self._went_down(f"the PBX would not turn the AMI events on: {reply.message}")
            return False
        if reply.headers.get("Events", "").lower() == "off":
            log.warning("AMI event classes %r select none: no events will come", classes)
        return True

    async def _note_pbx_start(self, protocol: AmiProtocol, permitted: frozenset[str]) -> None:
        """CoreStatus's start date and time: a different one at a later login means the PBX
        restarted. Not FullyBooted's Uptime: Asterisk sends FullyBooted at a login only when
        the login's Events take class ``system`` (manager.c ``action_login``), and ours has
        them off. Needs write ``system`` or ``reporting``; without either, no restart is told."""
        if "corestatus" not in permitted:
            return
        try:
            reply = await self._request(
                protocol, actions.core_status(), self.settings.login_timeout
            )
        except AmiError:
            return
        started, previous = _started(reply), self.state.pbx_started
        if started is None:
            return
        if previous is not None and started != previous:
            self.state.pbx_restarts += 1
            log.warning("the PBX restarted (started %s, before %s)", started, previous)
        self.state.pbx_started = started

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
    ) -> Reply:
        """Send an action and wait for its answer. Never re-sent, never queued while down.

        ``as_list`` True waits for an event list (its items land in ``Reply.events``), False for
        one message; None lets the answer say which (``... will follow``, ``EventList: start``).

        Raises LinkDown (not sent), ActionInterrupted (sent; the link dropped before the
        answer) or ActionTimeout (sent; no answer in time).
        """
        actions.check_headers(action)
        protocol = self.protocol
        if self.state.status is not LinkStatus.CONNECTED or protocol is None:
            raise LinkDown(f"the AMI link is {self.state.status}: {action.get('Action')} not sent")
        action = self.settings.ids.outward(action)  # the PBX's own ids, never the service's
        return await self._request(protocol, action, answer_within, as_list)

    async def _request(
        self,
        protocol: AmiProtocol,
        action: actions.ActionHeaders,
        answer_within: float,
        as_list: bool | None = None,
    ) -> Reply:
        if protocol.closed:
            raise LinkDown(f"the AMI connection is closed: {action.get('Action')} not sent")
        future = protocol.send(Action(dict(action), as_list=as_list), as_list=as_list)
        try:
            answer = await asyncio.wait_for(asyncio.shield(future), answer_within)
        except TimeoutError:
            name = action.get("Action")
            raise ActionTimeout(f"{name} got no answer in {answer_within:g} s") from None
        return reply_of(answer)

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
            now = self._clock()
            at = event_time(headers, None)
            headers = self.settings.ids.inward(headers)
            self._enqueue(LinkEvent(headers, now if at is None else at, now))

    def _queue_live_channels(self, action_id: str, action: Action) -> None:
        self._resyncs.discard(action_id)
        reply = reply_of(action.responses)
        if reply.response != "Success":
            self.state.last_error = "CoreShowChannels was refused: live calls not re-read"
            return
        listed = (e for e in reply.messages if e.get("Event") == "CoreShowChannel")
        channels = tuple(self.settings.ids.inward(dict(entry)) for entry in listed)
        self._enqueue(LiveChannels(channels, self._clock()))

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


def _started(reply: Reply) -> str | None:
    """CoreStatus's ``CoreStartupDate CoreStartupTime``; None when the answer has none."""
    date, clock = (reply.headers.get(key, "") for key in ("CoreStartupDate", "CoreStartupTime"))
    return f"{date} {clock}" if reply.success and date and clock else None
