"""WebSocket fan-out: each client has its own bounded queue; publishing never waits.

A client that falls so far behind that its queue fills is dropped rather than slowing the
others; it reconnects and gets a fresh snapshot, so it never shows a stale call. Agents get
the messages about calls and faults at their own endpoint; the other roles get everything.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

DEFAULT_QUEUE = 512


@dataclass(eq=False, slots=True)
class Subscriber:
    username: str
    role: str
    endpoint: str | None
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(DEFAULT_QUEUE))
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    token_id: str | None = None  # the login it was opened with
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # that login was ended


class Hub:
    """Subscribers are indexed by endpoint, so a call's message costs its parties and the
    non-agent roles, not a scan of every connected agent (500 agents, 50 calls a second)."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._watchers: set[Subscriber] = set()  # roles that see every call
        self._agents: dict[str, set[Subscriber]] = {}  # endpoint -> its consoles
        self._last_id = 0

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    def subscribe(
        self, username: str, role: str, endpoint: str | None, token_id: str | None = None
    ) -> Subscriber:
        subscriber = Subscriber(
            username, role, endpoint, asyncio.Queue(self._queue_size), token_id=token_id
        )
        self._subscribers.add(subscriber)
        if role != "agent":
            self._watchers.add(subscriber)
        elif endpoint is not None:
            self._agents.setdefault(endpoint, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self._watchers.discard(subscriber)
        consoles = self._agents.get(subscriber.endpoint or "")
        if consoles is not None:
            consoles.discard(subscriber)
            if not consoles:
                del self._agents[subscriber.endpoint or ""]

    def end_logins(self, username: str, token_id: str | None = None) -> int:
        """Cut off a user's connections (all of them, or those opened with one token): their
        login was ended. Returns how many; each one's socket closes as it learns it."""
        ended = [
            s
            for s in list(self._subscribers)
            if s.username == username and (token_id is None or s.token_id == token_id)
        ]
        for subscriber in ended:
            self.unsubscribe(subscriber)
            subscriber.ended.set()
        return len(ended)

    def listeners(self, endpoint: str) -> int:
        """How many consoles of this agent are connected."""
        return len(self._agents.get(endpoint, ()))

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def publish(self, message: dict[str, Any], audience: Iterable[str] | None = None) -> int:
        """Queue a message for every client that may see it; returns its id."""
        message_id = self.next_id()
        self._send({**message, "id": message_id}, self._audience(audience))
        return message_id

    def publish_each(self, build: Callable[[str, str | None], dict[str, Any]]) -> int:
        """One message to every client, built for each from its role and endpoint (a fresh
        snapshot of what that client may see); one id for all. Returns it."""
        message_id = self.next_id()
        for subscriber in list(self._subscribers):
            message = {**build(subscriber.role, subscriber.endpoint), "id": message_id}
            self._send(message, [subscriber])
        return message_id

    def publish_to(self, username: str, message: dict[str, Any]) -> int:
        """A message for one user's own consoles (their other tabs)."""
        message_id = self.next_id()
        mine = [s for s in self._subscribers if s.username == username]
        self._send({**message, "id": message_id}, mine)
        return message_id

    def watching(self, roles: Iterable[str]) -> int:
        """How many clients of these roles are connected: who a report reached."""
        wanted = set(roles)
        return sum(1 for s in self._watchers if s.role in wanted)

    def publish_to_roles(
        self, message: dict[str, Any], roles: Iterable[str], endpoints: Iterable[str] = ()
    ) -> int:
        """A message for these roles and the agents at these endpoints only: incidents are the
        IT side's business, not every watcher's (QA), and an agent sees only their own."""
        wanted = set(roles)
        recipients = {s for s in self._watchers if s.role in wanted}
        for endpoint in endpoints:
            recipients.update(self._agents.get(endpoint, ()))
        message_id = self.next_id()
        self._send({**message, "id": message_id}, recipients)
        return message_id

    def resend(self, message: dict[str, Any], endpoint: str, resends: int) -> None:
        """Send a pop again, same id, to the agent's consoles only."""
        self._send({**message, "resent": resends}, self._agents.get(endpoint, set()))

    def _audience(self, audience: Iterable[str] | None) -> Iterable[Subscriber]:
        if audience is None:
            return self._subscribers
        recipients = set(self._watchers)
        for endpoint in audience:
            recipients.update(self._agents.get(endpoint, ()))
        return recipients

    def _send(self, message: dict[str, Any], subscribers: Iterable[Subscriber]) -> None:
        text = json.dumps(message, ensure_ascii=False)
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
