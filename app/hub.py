"""WebSocket fan-out: each client has its own bounded queue; publishing never waits.

A client that falls so far behind that its queue fills is dropped rather than slowing the
others; it reconnects and gets a fresh snapshot, so it never shows a stale call. Agents get
the messages about calls and faults at their own endpoint; the other roles get everything.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_QUEUE = 512


@dataclass(eq=False, slots=True)
class Subscriber:
    username: str
    role: str
    endpoint: str | None
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(DEFAULT_QUEUE))
    dropped: asyncio.Event = field(default_factory=asyncio.Event)

    def sees(self, audience: frozenset[str] | None) -> bool:
        """Everyone sees unaddressed messages; a call's messages go to its parties."""
        if audience is None or self.role != "agent":
            return True
        return self.endpoint is not None and self.endpoint in audience


class Hub:
    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._last_id = 0

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    def subscribe(self, username: str, role: str, endpoint: str | None) -> Subscriber:
        subscriber = Subscriber(username, role, endpoint, asyncio.Queue(self._queue_size))
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def publish(self, message: dict[str, Any], audience: Iterable[str] | None = None) -> int:
        """Queue a message for every client that may see it; returns its id."""
        parties = None if audience is None else frozenset(audience)
        return self._send(message, (s for s in self._subscribers if s.sees(parties)))

    def _send(self, message: dict[str, Any], subscribers: Iterable[Subscriber]) -> int:
        message_id = self.next_id()
        text = json.dumps({**message, "id": message_id}, ensure_ascii=False)
        for subscriber in list(subscribers):
            try:
                subscriber.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._subscribers.discard(subscriber)
                subscriber.dropped.set()
        return message_id
