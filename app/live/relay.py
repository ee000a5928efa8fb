"""Live messages between instances, through Redis pub/sub (issue 16; DESIGN.md "Several
instances, several PBXs"). Without ``CALLASSIST_REDIS_URL`` the relay is a ``NoRelay`` and
the hub serves its own consoles, as one instance always did.

Why pub/sub and not a stream: a live message is worth something only now. A console that
was away gets a fresh snapshot when it connects, and a pop that no console acknowledged is
sent again by the owner's pop ledger (app/console/pops.py), so nothing needs the replay a
stream keeps; a stream would make every instance track a position and trim a log nobody
reads again. Pub/sub hands a message to every listening instance in one round trip, which is
what a pop's few milliseconds allow. What must outlive a message is kept beside it, written
in the same transaction: the owner's live calls and link state (a hash per PBX), from which
an instance that does not own the PBX gives its consoles their snapshot.

Five things travel:
- ``<prefix>:live``: every delivery (app/live/deliveries.py), the audience with it; each
  instance hands it to its own consoles, and ignores its own (it delivered them already, so
  the owner's consoles get their pops even while Redis is down).
- ``<prefix>:acks``: a console's acknowledgement of a pop, taken by an instance that does not
  own the PBX, for the owner's pop ledger.
- ``<prefix>:presence``: each instance's consoles per endpoint, every second and at each
  change, so the owner knows whether an agent has a console anywhere (a missed pop's reason).
- ``<prefix>:pbx:<pbx>:calls`` and ``:link``: the owner's live view.
- ``<prefix>:asks`` and ``<prefix>:answers``: a question only the owner can answer (dial a
  callback, read an agent's phone, the line board), asked by a route on another instance;
  the owner answers it as it would its own routes (app/ownership/answers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, cast

from fastapi import Depends
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

from app.live.deliveries import (
    SLOTS,
    Delivery,
    NotADelivery,
    ViewChange,
    origin_of,
    read_delivery,
    view_change,
)

log = logging.getLogger("callassist.relay")

PRESENCE_EVERY = 1.0  # seconds between an instance's reports of its consoles
PRESENCE_FRESH = 3.5  # an instance not heard from for this long has no consoles
RETRY_FIRST, RETRY_MOST = 0.5, 5.0  # seconds between attempts to reach Redis
OUTBOX_SIZE = 10_000  # deliveries waiting for Redis; past that they are dropped
BATCH = 256  # deliveries per round trip


ASK_WITHIN = 12.0  # seconds for the owner to answer a question (an Originate takes up to 10)


class RelayDown(Exception):
    """Redis cannot be reached, or the owner did not answer through it."""


@dataclass
class RelayState:
    """What /api/status, /readyz and /metrics say of the relay."""

    configured: bool = False
    connected: bool = False
    since: float | None = None  # connected, or failing, since
    last_error: str | None = None
    published: int = 0  # deliveries sent to the other instances
    received: int = 0  # deliveries from them, handed to this instance's consoles
    dropped: int = 0  # deliveries not sent: Redis was down or the outbox full
    unreadable: int = 0  # frames on the channels that were not ours


class Consoles(Protocol):
    """What the relay needs of the hub (app/live/hub.py)."""

    def deliver(self, delivery: Delivery) -> None: ...

    def console_counts(self) -> dict[str, int]: ...

    def drop_all(self, reason: str) -> int: ...


class Owner(Protocol):
    """What the relay needs of the PBXs' side of this instance (app/live/calls.py)."""

    def owns(self, pbx: str) -> bool:
        """Whether this instance owns the PBX now (cheap: asked for every question)."""
        ...

    def owns_all(self) -> bool:
        """Whether this instance owns every PBX: its consoles get every message from it."""
        ...

    def owned(self) -> list[str]: ...

    def owner_view(self, pbx: str) -> list[dict[str, Any]] | None:
        """Every live call's view while this instance owns the PBX, else None."""
        ...

    def link_view(self, pbx: str) -> str: ...

    def acked(self, message_id: int, endpoint: str | None, at: float) -> bool: ...


class Answerer(Protocol):
    """The owner's answers to questions asked on other instances (app/ownership/answers.py)."""

    async def answer(self, pbx: str, kind: str, args: dict[str, Any]) -> dict[str, Any]: ...


class NoRelay:
    """No Redis configured: one instance, its hub serves its own consoles."""

    def __init__(self) -> None:
        self.state = RelayState()
        self.slot = 0

    def send(self, delivery: Delivery) -> None:
        """Nobody else to tell."""

    def ack(self, message_id: int, endpoint: str | None, at: float) -> None:
        """The ledger is this instance's own: the hub's caller asked it already."""

    def listeners(self, phone: str) -> int:
        return 0

    def consoles_changed(self) -> None:
        """Nobody else counts them."""

    async def run(self, consoles: Consoles, owner: Owner, answerer: Answerer) -> None:
        await asyncio.Event().wait()

    async def owner_calls(self, pbx: str) -> tuple[list[dict[str, Any]], str]:
        raise RelayDown(NO_REDIS)

    async def ask(
        self, pbx: str, kind: str, args: dict[str, Any], within: float | None = None
    ) -> dict[str, Any]:
        raise RelayDown(NO_REDIS)


NO_REDIS = "no Redis is configured (CALLASSIST_REDIS_URL)"


class RedisRelay:
    def __init__(
        self, url: str, *, prefix: str, instance: str, ask_within: float = ASK_WITHIN
    ) -> None:
        self._url = url
        self._ask_within = ask_within
        self._instance = instance
        self._origin = instance.encode()
        self._live, self._acks = f"{prefix}:live", f"{prefix}:acks"
        self._presence = f"{prefix}:presence"
        self._asks, self._answers = f"{prefix}:asks", f"{prefix}:answers"
        self._asked: dict[str, asyncio.Future[dict[str, Any]]] = {}  # question id -> answer
        self._prefix = prefix
        self._slots_key = f"{prefix}:slots"
        self.state = RelayState(configured=True)
        self.slot = 0  # this instance's part of every message id (app/live/hub.py)
        self._outbox: asyncio.Queue[tuple[str, str, ViewChange]] = asyncio.Queue(OUTBOX_SIZE)
        self._remote: dict[str, tuple[float, dict[str, int]]] = {}  # instance -> consoles
        self._consoles_changed = asyncio.Event()
        self._answering: set[asyncio.Task[None]] = set()
        self._reader: Redis | None = None

    # -- what the hub and the WebSocket call (synchronous: queued, never awaited) -----------

    def send(self, delivery: Delivery) -> None:
        """Queue a delivery for the other instances; while Redis is down it is dropped
        (their consoles are told to reconnect when it is back, and get a snapshot)."""
        self._queue(self._live, delivery.to_wire(self._instance), view_change(delivery.message))

    def ack(self, message_id: int, endpoint: str | None, at: float) -> None:
        text = json.dumps(
            {"from": self._instance, "id": message_id, "endpoint": endpoint, "at": at}
        )
        self._queue(self._acks, text, ViewChange())

    def listeners(self, phone: str) -> int:
        """Consoles of the agent at this phone (app/live/hub.py's phone_key) connected to
        the other instances."""
        now = time.monotonic()
        return sum(
            counts.get(phone, 0)
            for heard, counts in self._remote.values()
            if now - heard < PRESENCE_FRESH
        )

    def consoles_changed(self) -> None:
        self._consoles_changed.set()

    def _queue(self, channel: str, text: str, change: ViewChange) -> None:
        if not self.state.connected:
            self.state.dropped += 1
            return
        try:
            self._outbox.put_nowait((channel, text, change))
        except asyncio.QueueFull:
            self.state.dropped += 1

    # -- what a snapshot on an instance that does not own the PBX reads ----------------------

    async def owner_calls(self, pbx: str) -> tuple[list[dict[str, Any]], str]:
        """The PBX's owner's live calls (oldest first) and its link state."""
        client = self._reader
        if client is None or not self.state.connected:
            raise RelayDown(self.state.last_error or "not connected to Redis yet")
        try:
            pipe = client.pipeline(transaction=True)
            calls_key, link_key = _view_keys(self._prefix, pbx)
            pipe.hvals(calls_key)
            pipe.get(link_key)
            values, link = await pipe.execute()
        except (RedisError, OSError) as error:
            raise RelayDown(_reason(error)) from error
        calls = [json.loads(value) for value in values]
        calls.sort(key=lambda call: (call.get("started_at") or 0, call.get("call_id", "")))
        return calls, (link.decode() if isinstance(link, bytes) else link) or "unknown"

    async def ask(
        self, pbx: str, kind: str, args: dict[str, Any], within: float | None = None
    ) -> dict[str, Any]:
        """Ask the PBX's owner (another instance); its answer, ``{"ok": ...}`` or
        ``{"error": {"status", "detail"}}``. Raises RelayDown when nobody answers in time
        (``within``, else the relay's own limit)."""
        if not self.state.connected:
            raise RelayDown(self.state.last_error or "not connected to Redis yet")
        question_id = uuid.uuid4().hex
        answered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._asked[question_id] = answered
        question = {
            "from": self._instance, "id": question_id, "pbx": pbx, "kind": kind, "args": args
        }
        self._queue(self._asks, json.dumps(question), ViewChange())
        try:
            return await asyncio.wait_for(answered, within or self._ask_within)
        except TimeoutError:
            within = within or self._ask_within
            raise RelayDown(f"the PBX's owner did not answer within {within:g} s") from None
        finally:
            self._asked.pop(question_id, None)

    # -- the task -----------------------------------------------------------------------------

    async def run(self, consoles: Consoles, owner: Owner, answerer: Answerer) -> None:
        """Stay connected: at every (re)connection the owner writes its whole view again
        (what changed while Redis was down is not in it) and the other instances' consoles
        are told to reconnect (they missed messages meanwhile)."""
        wait = RETRY_FIRST
        first = True
        while True:
            client: Redis = Redis.from_url(
                self._url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
            )
            listener: Redis = Redis.from_url(self._url, socket_connect_timeout=2)
            pubsub = listener.pubsub(ignore_subscribe_messages=True)
            try:
                await self._connect(client, pubsub, owner)
                if not first and not owner.owns_all():
                    consoles.drop_all("the live messages were cut; reconnect for a fresh snapshot")
                first, wait = False, RETRY_FIRST
                await _first_to_end(
                    self._read(pubsub, consoles, _Owning(owner, answerer)),
                    self._write(client),
                    self._report_consoles(client, consoles),
                )
            except (RedisError, OSError) as error:
                self._lost(error, consoles, owner)
            finally:
                self._reader = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                for connection in (client, listener):
                    with contextlib.suppress(Exception):
                        await connection.aclose()
            await asyncio.sleep(wait)
            wait = min(RETRY_MOST, wait * 2)

    async def _connect(self, client: Redis, pubsub: PubSub, owner: Owner) -> None:
        await client.ping()
        if self.slot == 0:
            self.slot = int(await client.incr(self._slots_key)) % SLOTS or SLOTS - 1
        await pubsub.subscribe(
            self._live, self._acks, self._presence, self._asks, self._answers
        )
        while not self._outbox.empty():  # queued before the last loss: stale now
            self._outbox.get_nowait()
        # Connected before the whole view is read: what changes while it is written is
        # queued, and written after it.
        was_down = self.state.last_error is not None
        self.state.connected, self.state.since, self.state.last_error = True, time.time(), None
        self._reader = client
        await self._write_whole_view(client, owner)
        if was_down:
            log.info("Redis reached again: live messages flow between instances")
        self.consoles_changed()

    def _lost(self, error: BaseException, consoles: Consoles, owner: Owner) -> None:
        reason = _reason(error)
        if self.state.connected or self.state.last_error is None:
            log.error(
                "Redis unreachable (%s): live messages reach this instance's consoles only", reason
            )
            self.state.since = time.time()
        if self.state.connected and not owner.owns_all():
            consoles.drop_all("this instance lost its live messages; reconnect for a snapshot")
        self.state.connected, self.state.last_error = False, reason
        self._remote.clear()

    async def _write_whole_view(self, client: Redis, owner: Owner) -> None:
        """The live calls and link state of each PBX this instance owns, replacing what
        Redis held."""
        pipe = client.pipeline(transaction=True)
        for pbx in owner.owned():
            calls = owner.owner_view(pbx)
            if calls is None:
                continue
            put = {str(call["call_id"]): call for call in calls}
            change = ViewChange(put=put, replace=True, link=owner.link_view(pbx), pbx=pbx)
            _apply(pipe, self._prefix, change)
        await pipe.execute()

    async def _read(self, pubsub: PubSub, consoles: Consoles, owner: _Owning) -> None:
        async for frame in pubsub.listen():
            channel = frame["channel"].decode()
            try:
                if channel == self._live:
                    self._take_delivery(frame["data"], consoles)
                elif channel == self._acks:
                    self._take_ack(frame["data"], owner.owner)
                elif channel == self._presence:
                    self._take_presence(frame["data"])
                elif channel == self._asks:
                    self._take_question(frame["data"], owner)
                elif channel == self._answers:
                    self._take_answer(frame["data"])
            except (NotADelivery, ValueError, TypeError, KeyError, AttributeError):
                self.state.unreadable += 1
        raise ConnectionError("Redis closed the subscription")

    def _take_delivery(self, data: bytes, consoles: Consoles) -> None:
        if origin_of(data) == self._origin:
            return  # delivered here already, before it was published
        self.state.received += 1
        consoles.deliver(read_delivery(data))

    def _take_ack(self, data: bytes, owner: Owner) -> None:
        ack = json.loads(data)
        if ack["from"] != self._instance and isinstance(ack["id"], int):
            owner.acked(ack["id"], ack.get("endpoint"), float(ack["at"]))

    def _take_presence(self, data: bytes) -> None:
        report = json.loads(data)
        if report["from"] != self._instance:
            counts = {str(k): int(v) for k, v in dict(report["consoles"]).items()}
            self._remote[str(report["from"])] = (time.monotonic(), counts)

    def _take_question(self, data: bytes, owner: _Owning) -> None:
        """Only the owner answers, in a task of its own (a dial takes seconds)."""
        question = json.loads(data)
        if not owner.owner.owns(str(question["pbx"])) or not isinstance(question["args"], dict):
            return
        task = asyncio.create_task(self._answer(question, owner.answerer))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(self, question: dict[str, Any], answerer: Answerer) -> None:
        try:
            kind, args = str(question["kind"]), question["args"]
            answer = await answerer.answer(str(question["pbx"]), kind, args)
        except Exception as error:  # the asker must hear, not wait in vain
            log.exception("answering %s for %s", question["kind"], question["from"])
            answer = {"error": {"status": 500, "detail": f"the owner failed: {error!r}"}}
        reply = {"to": question["from"], "id": question["id"], "answer": answer}
        self._queue(self._answers, json.dumps(reply, ensure_ascii=False), ViewChange())

    def _take_answer(self, data: bytes) -> None:
        reply = json.loads(data)
        if reply["to"] == self._instance:
            waiting = self._asked.get(str(reply["id"]))
            if waiting is not None and not waiting.done():
                waiting.set_result(dict(reply["answer"]))

    async def _write(self, client: Redis) -> None:
        """Deliveries out, a batch per round trip, each with its change to the owner's view
        in the same transaction (a snapshot read after a message never misses it)."""
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            pipe = client.pipeline(transaction=True)
            for channel, text, change in batch:
                _apply(pipe, self._prefix, change)
                pipe.publish(channel, text)
            try:
                await pipe.execute()
            except (RedisError, OSError):
                self.state.dropped += len(batch)
                raise
            self.state.published += len(batch)

    async def _report_consoles(self, client: Redis, consoles: Consoles) -> None:
        """This instance's consoles per endpoint: every second (a dead instance's count
        goes stale) and at once when one connects or leaves. Its round trip also notices a
        Redis that went away while nothing else was said."""
        while True:
            self._consoles_changed.clear()
            report = {"from": self._instance, "consoles": consoles.console_counts()}
            await client.publish(self._presence, json.dumps(report))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._consoles_changed.wait(), PRESENCE_EVERY)


@dataclass(frozen=True)
class _Owning:
    """What the reader needs of this instance's PBX side."""

    owner: Owner
    answerer: Answerer


def _view_keys(prefix: str, pbx: str) -> tuple[str, str]:
    """Where a PBX's owner keeps its live calls and its link state."""
    return f"{prefix}:pbx:{pbx}:calls", f"{prefix}:pbx:{pbx}:link"


def _apply(pipe: Any, prefix: str, change: ViewChange) -> None:
    if change.empty:
        return
    calls_key, link_key = _view_keys(prefix, change.pbx)
    if change.replace:
        pipe.delete(calls_key)
    if change.put:
        pipe.hset(
            calls_key, mapping={k: json.dumps(v, ensure_ascii=False) for k, v in change.put.items()}
        )
    if change.gone:
        pipe.hdel(calls_key, *change.gone)
    if change.link:
        pipe.set(link_key, change.link)


async def _first_to_end(*work: Awaitable[None]) -> None:
    """Run the connection's tasks until one ends (its error raised), then stop the others."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


Relay = RedisRelay | NoRelay


def the_relay(request: HTTPConnection) -> Relay:
    """The running service's relay (app/wiring.py puts the parts on the app)."""
    return cast(Relay, request.app.state.parts.relay)


RelayDep = Annotated[Relay, Depends(the_relay)]
