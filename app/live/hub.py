"""WebSocket fan-out: each client has its own bounded queue; publishing never waits.

A client that falls so far behind that its queue fills is dropped rather than slowing the
others; it reconnects and gets a fresh snapshot, so it never shows a stale call. Agents get
the messages about calls and faults at their own endpoint; the other roles get everything.
With several instances, each one's hub serves its own consoles (app/live/relay.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.live.deliveries import SLOTS, Audience, AudienceKind, Delivery, calls_for
from app.pbxes.ids import DEFAULT_PBX

DEFAULT_QUEUE = 512
log = logging.getLogger("callassist.hub")


class HubRelay(Protocol):
    """What the hub needs of the relay to the other instances (app/live/relay.py)."""

    slot: int

    def send(self, delivery: Delivery) -> None: ...

    def listeners(self, phone: str) -> int: ...

    def consoles_changed(self) -> None: ...


@dataclass(eq=False, slots=True)
class Subscriber:
    username: str
    role: str
    endpoint: str | None
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(DEFAULT_QUEUE))
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    token_id: str | None = None  # the login it was opened with
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # that login was ended
    pbx: str = DEFAULT_PBX  # an agent's: the PBX their phone is on


def phone_key(pbx: str, endpoint: str) -> str:
    """A phone among every PBX's, named as a call is: ``PJSIP/1001`` on the default PBX,
    ``south:PJSIP/1001`` on another."""
    return endpoint if pbx == DEFAULT_PBX else f"{pbx}:{endpoint}"


class Hub:
    """Subscribers are indexed by endpoint, so a call's message costs its parties and the
    non-agent roles, not a scan of every connected agent (500 agents, 50 calls a second).

    Each message goes to this instance's consoles at once and, through the relay (app/live/
    relay.py), to the other instances', which pick their recipients from the same audience.
    Message ids are unique across instances and restarts: milliseconds since the epoch at
    the start, counted up, times ``SLOTS``, plus the relay's slot for this instance (0
    alone). The consoles drop a message whose id they have seen (a pop sent again)."""

    def __init__(self, relay: HubRelay | None = None, queue_size: int = DEFAULT_QUEUE) -> None:
        self._relay = relay
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._watchers: set[Subscriber] = set()  # roles that see every call
        self._agents: dict[str, set[Subscriber]] = {}  # endpoint -> its consoles
        self._last_id = int(time.time() * 1000)

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    def subscribe(
        self,
        username: str,
        role: str,
        endpoint: str | None,
        token_id: str | None = None,
        pbx: str = DEFAULT_PBX,
    ) -> Subscriber:
        subscriber = Subscriber(
            username, role, endpoint, asyncio.Queue(self._queue_size), token_id=token_id, pbx=pbx
        )
        self._subscribers.add(subscriber)
        if role != "agent":
            self._watchers.add(subscriber)
        elif endpoint is not None:
            self._agents.setdefault(endpoint, set()).add(subscriber)
            self._consoles_changed()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self._watchers.discard(subscriber)
        consoles = self._agents.get(subscriber.endpoint or "")
        if consoles is not None and subscriber in consoles:
            consoles.discard(subscriber)
            if not consoles:
                del self._agents[subscriber.endpoint or ""]
            self._consoles_changed()

    def end_logins(self, username: str, token_id: str | None = None) -> int:
        """Cut off a user's connections (all of them, or those opened with one token), here
        and on the other instances: their login was ended. Returns how many were here."""
        delivery = Delivery(Audience("logins", username=username, token_id=token_id))
        if self._relay is not None:
            self._relay.send(delivery)
        return self._end_logins(username, token_id)

    def drop_all(self, reason: str) -> int:
        """Every console reconnects (for a fresh snapshot): what it was sent may have gaps."""
        dropped = list(self._subscribers)
        for subscriber in dropped:
            self.unsubscribe(subscriber)
            subscriber.dropped.set()
        if dropped:
            log.warning("%d live connections told to reconnect: %s", len(dropped), reason)
        return len(dropped)

    def listeners(self, endpoint: str, pbx: str = DEFAULT_PBX) -> int:
        """How many consoles of the agent at this phone are connected, to any instance."""
        phone = phone_key(pbx, endpoint)
        remote = self._relay.listeners(phone) if self._relay is not None else 0
        here = sum(1 for s in self._agents.get(endpoint, ()) if s.pbx == pbx)
        return here + remote

    def console_counts(self) -> dict[str, int]:
        """This instance's consoles per agent's phone (what it tells the others), each
        phone named as ``phone_key`` names it."""
        counts: dict[str, int] = {}
        for consoles in self._agents.values():
            for console in consoles:
                phone = phone_key(console.pbx, console.endpoint or "")
                counts[phone] = counts.get(phone, 0) + 1
        return counts

    def next_id(self) -> int:
        self._last_id += 1
        slot = self._relay.slot if self._relay is not None else 0
        return self._last_id * SLOTS + slot

    def publish(
        self,
        message: dict[str, Any],
        audience: Iterable[str] | None = None,
        *,
        pbx: str | None = None,
    ) -> int:
        """Queue a message for every client that may see it (None: everyone; else the
        watchers and the agents at these endpoints); with ``pbx``, of the agents only those
        whose phone is on that PBX. Returns its id."""
        message_id = self.next_id()
        kind: AudienceKind = "all" if audience is None else "parties"
        endpoints = () if audience is None else tuple(audience)
        to = Audience(kind, endpoints, pbx=pbx)
        self._publish(Delivery.of(to, {**message, "id": message_id}))
        return message_id

    def publish_calls(
        self, message: dict[str, Any], calls: list[dict[str, Any]], *, pbx: str | None = None
    ) -> int:
        """One message to every client (of ``pbx``'s agents only, when given) with the live
        calls it may see (``calls``: all of them, each with its parties); one id for all."""
        message_id = self.next_id()
        to = Audience("each", pbx=pbx)
        self._publish(Delivery.of(to, {**message, "calls": calls, "id": message_id}))
        return message_id

    def publish_to(self, username: str, message: dict[str, Any]) -> int:
        """A message for one user's own consoles (their other tabs)."""
        message_id = self.next_id()
        to = Audience("user", username=username)
        self._publish(Delivery.of(to, {**message, "id": message_id}))
        return message_id

    def watching(self, roles: Iterable[str]) -> int:
        """How many clients of these roles are connected here: who a report reached."""
        wanted = set(roles)
        return sum(1 for s in self._watchers if s.role in wanted)

    def publish_to_roles(
        self,
        message: dict[str, Any],
        roles: Iterable[str],
        endpoints: Iterable[str] = (),
        *,
        pbx: str | None = None,
    ) -> int:
        """A message for these roles and the agents at these endpoints (on ``pbx``) only:
        incidents are the IT side's business, not every watcher's (QA), and an agent sees
        only their own."""
        message_id = self.next_id()
        audience = Audience("roles", tuple(endpoints), tuple(roles), pbx=pbx)
        self._publish(Delivery.of(audience, {**message, "id": message_id}))
        return message_id

    def publish_per_agent(
        self, message: dict[str, Any], parts: dict[str, dict[str, Any]], *, pbx: str | None = None
    ) -> int:
        """One message for many agents, each agent's consoles getting ``message`` with their
        own ``parts[endpoint]`` merged in; one id for all. Returns it."""
        message_id = self.next_id()
        to = Audience("per_agent", tuple(parts), pbx=pbx)
        self._publish(Delivery.of(to, {**message, "per_agent": parts, "id": message_id}))
        return message_id

    def resend(
        self, message: dict[str, Any], endpoint: str, resends: int, *, pbx: str | None = None
    ) -> None:
        """Send a pop again, same id, to the agent's consoles only."""
        to = Audience("agents", (endpoint,), pbx=pbx)
        self._publish(Delivery.of(to, {**message, "resent": resends}))

    def deliver(self, delivery: Delivery) -> None:
        """Hand a delivery to this instance's consoles it is for (one of ours, or one the
        relay brought from another instance)."""
        audience, message = delivery.audience, delivery.message
        if audience.kind == "logins":
            if audience.username is not None:
                self._end_logins(audience.username, audience.token_id)
        elif audience.kind == "each":
            self._send_each(message, audience)
        elif audience.kind == "per_agent":
            self._send_per_agent(message, audience)
        else:
            self._send_text(delivery.text, self._recipients(audience))

    def _publish(self, delivery: Delivery) -> None:
        self.deliver(delivery)
        if self._relay is not None:
            self._relay.send(delivery)

    def _recipients(self, audience: Audience) -> Iterable[Subscriber]:
        kind = audience.kind
        if kind == "all":
            return [
                s
                for s in self._subscribers
                if s.role != "agent" or audience.reaches_agent_on(s.pbx)
            ]
        if kind == "user":
            return [s for s in self._subscribers if s.username == audience.username]
        recipients: set[Subscriber] = set()
        if kind == "parties":
            recipients.update(self._watchers)
        elif kind == "roles":
            wanted = set(audience.roles)
            recipients.update(s for s in self._watchers if s.role in wanted)
        for endpoint in audience.endpoints:
            consoles = self._agents.get(endpoint, ())
            recipients.update(s for s in consoles if audience.reaches_agent_on(s.pbx))
        return recipients

    def _send_each(self, message: dict[str, Any], audience: Audience) -> None:
        calls = list(message.get("calls") or ())
        for subscriber in list(self._subscribers):
            if subscriber.role == "agent" and not audience.reaches_agent_on(subscriber.pbx):
                continue
            mine = calls_for(calls, subscriber.role, subscriber.endpoint)
            self._send({**message, "calls": mine}, [subscriber])

    def _send_per_agent(self, message: dict[str, Any], audience: Audience) -> None:
        """Each agent's consoles get the common part with their own merged in: the common
        part is encoded once, each agent's own part (a few call ids) alone."""
        parts = dict(message.get("per_agent") or {})
        common = {key: value for key, value in message.items() if key != "per_agent"}
        head = json.dumps(common, ensure_ascii=False)[:-1]  # '{...' without its '}'
        for endpoint, part in parts.items():
            consoles = self._agents.get(str(endpoint), ())
            mine = [s for s in consoles if audience.reaches_agent_on(s.pbx)]
            own = {k: v for k, v in dict(part).items() if k not in common}
            if mine and own:
                tail = json.dumps(own, ensure_ascii=False)[1:]  # '...}' without its '{'
                self._send_text(f"{head}, {tail}" if common else "{" + tail, mine)
            elif mine:
                self._send_text(head + "}", mine)

    def _end_logins(self, username: str, token_id: str | None) -> int:
        ended = [
            s
            for s in list(self._subscribers)
            if s.username == username and (token_id is None or s.token_id == token_id)
        ]
        for subscriber in ended:
            self.unsubscribe(subscriber)
            subscriber.ended.set()
        return len(ended)

    def _consoles_changed(self) -> None:
        if self._relay is not None:
            self._relay.consoles_changed()

    def _send(self, message: dict[str, Any], subscribers: Iterable[Subscriber]) -> None:
        self._send_text(json.dumps(message, ensure_ascii=False), subscribers)

    def _send_text(self, text: str, subscribers: Iterable[Subscriber]) -> None:
        for subscriber in list(subscribers):
            try:
                subscriber.queue.put_nowait(text)
            except asyncio.QueueFull:
                self.unsubscribe(subscriber)
                subscriber.dropped.set()


def the_hub(request: HTTPConnection) -> Hub:
    """The running service's hub (app/wiring.py puts the parts on the app)."""
    return cast(Hub, request.app.state.parts.hub)


HubDep = Annotated[Hub, Depends(the_hub)]
