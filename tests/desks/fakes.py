"""What the desks are driven with: a fake AMI link, a clock the test moves, listeners on the
real hub, the real database on a SQLite file, and the updates the real pipeline hands the
desks for a recorded capture.

Fakes that behave like the real parts (cosmicpython's habit), not mocks: the link answers
actions as scripted and refuses them when down, as AmiLink does; the database is the real
one, so the stores' own SQL runs; the hub is the real in-memory Hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine
from sqlmodel import Session

from app.console.pops import PopLedger
from app.db import tables
from app.db.engine import Database, DatabaseError, upgrade
from app.live.hub import Hub, Subscriber
from app.live.pipeline import Pipeline
from app.live.updates import Desk, Update
from app.records.desk import RecordWriter
from telephony.ami.actions import ActionHeaders
from telephony.ami.link import LinkDown, LinkEvent, LinkItem, LinkState, LinkStatus
from telephony.ami.replies import Reply
from telephony.calls.trunks import TrunkPlan
from telephony.capture import read_capture
from telephony.switchboard import Switchboard
from tests.conftest import CAPTURES, LAB_TRUNKS

T = TypeVar("T")
T0 = 1_800_000_000.0  # where a test's day starts: capture times are seconds after it
TRUNKS = TrunkPlan.parse(LAB_TRUNKS)
AGENT_ONE, AGENT_TWO = "PJSIP/1001", "PJSIP/1002"
# The users of every test database: (username, display name, role, endpoint).
USERS = (
    ("agent1", "Agent One", "agent", AGENT_ONE),
    ("agent2", "Agent Two", "agent", AGENT_TWO),
    ("qa", "QA", "qa", None),
    ("it", "IT", "it", None),
    ("supervisor", "Supervisor", "supervisor", None),
)


# -- the clock ------------------------------------------------------------------------------


class ManualClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


# -- the AMI link ---------------------------------------------------------------------------

Answer = Reply | Exception | Callable[[ActionHeaders], Reply]


@dataclass(frozen=True, slots=True)
class Sent:
    """One action the link was asked to send."""

    headers: dict[str, Any]
    answer_within: float
    as_list: bool | None

    @property
    def name(self) -> str:
        return str(self.headers.get("Action", ""))


def success(message: str = "", *events: Mapping[str, str]) -> Reply:
    """The PBX's "done" answer, with the event list that follows it."""
    return Reply.of([{"Response": "Success", "Message": message}, *events])


class FakeLink:
    """The AMI link with the shape of AmiLink and NoPbx: a state the test sets, the items the
    pipeline gets, and actions answered as scripted per action name (a Reply, an exception
    to raise, or a function of the action). Unscripted actions succeed; while the link is not
    connected, every action is refused with LinkDown before it is sent, as AmiLink does."""

    def __init__(self, status: LinkStatus = LinkStatus.CONNECTED, since: float = T0) -> None:
        self.state = LinkState(status=status)
        if status is LinkStatus.CONNECTED:
            self.state.connected_since = since
        self.queue: asyncio.Queue[LinkItem] = asyncio.Queue()
        self.sent: list[Sent] = []
        self._answers: dict[str, list[Answer]] = {}

    def answer(self, action: str, *answers: Answer) -> None:
        """The next answers to ``action``, in order; after them, success again."""
        self._answers.setdefault(action.lower(), []).extend(answers)

    def go_down(self, reason: str = "connection lost") -> None:
        self.state.status = LinkStatus.DOWN
        self.state.connected_since = None
        self.state.last_error = reason

    def come_back(self, at: float) -> None:
        self.state.status = LinkStatus.CONNECTED
        self.state.connected_since = at

    def named(self, action: str) -> list[dict[str, Any]]:
        """The headers of every ``action`` sent, in order."""
        return [s.headers for s in self.sent if s.name.lower() == action.lower()]

    # -- the link's face ------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to connect to."""

    def close(self) -> None:
        self.state.status = LinkStatus.CLOSED

    async def wait_closed(self) -> None:
        """Nothing to wait for."""

    async def get(self) -> LinkItem:
        return await self.queue.get()

    def snapshot(self) -> LinkState:
        return self.state

    async def send(
        self, action: ActionHeaders, *, answer_within: float = 10.0, as_list: bool | None = None
    ) -> Reply:
        name = str(action.get("Action", ""))
        if self.state.status is not LinkStatus.CONNECTED:
            raise LinkDown(f"the AMI link is {self.state.status}: {name} not sent")
        self.sent.append(Sent(dict(action), answer_within, as_list))
        script = self._answers.get(name.lower())
        answer: Answer = script.pop(0) if script else success()
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, Reply):
            return answer
        return answer(action)


# -- the hub --------------------------------------------------------------------------------


class _HeardQueue(asyncio.Queue[str]):
    """A subscriber's queue that also tells the test the moment a message is queued."""

    def __init__(self, heard: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self._heard = heard

    def put_nowait(self, item: str) -> None:
        super().put_nowait(item)
        self._heard(json.loads(item))


class Listener:
    """A client of the real hub (a browser's WebSocket, without the socket)."""

    def __init__(
        self,
        hub: Hub,
        role: str,
        endpoint: str | None = None,
        *,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.subscriber: Subscriber = hub.subscribe(f"{role}:{endpoint}", role, endpoint)
        if on_message is not None:
            self.subscriber.queue = _HeardQueue(on_message)
        self.heard: list[dict[str, Any]] = []

    def take(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The messages queued since the last take (of one type, if given), in order."""
        queue = self.subscriber.queue
        while not queue.empty():
            self.heard.append(json.loads(queue.get_nowait()))
        taken, self.heard = self.heard, []
        if kind is None:
            return taken
        self.heard = [m for m in taken if m["type"] != kind]
        return [m for m in taken if m["type"] == kind]

    def types(self) -> list[str]:
        return [m["type"] for m in self.take()]


# -- the database ---------------------------------------------------------------------------


def make_template(path: Path) -> Path:
    """A database file with the schema and the test users, made once per session.

    The schema is the migrations' (`callassist db upgrade`): ``SQLModel.metadata.create_all``
    cannot make it on SQLite, whose indexes refuse the NULLS LAST that app/db/tables.py
    declares for PostgreSQL (migration 0004 leaves it out there). Each test copies the file.
    """
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        for username, name, role, endpoint in USERS:
            session.add(
                tables.User(
                    username=username,
                    display_name=name,
                    role=role,
                    endpoint=endpoint,
                    password_hash="not used: nobody logs in here",
                    created_at=T0,
                )
            )
        session.commit()
    engine.dispose()
    return path


class TestDatabase(Database):
    """The real database on a copy of the template, that can be told to fail its next runs
    (as a restarting database does) and counts the runs that went through."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, template: Path, directory: Path) -> None:
        path = directory / "callassist.db"
        shutil.copyfile(template, path)
        super().__init__(f"sqlite:///{path}")
        self.runs = 0  # finished without error
        self.failed = 0
        self._failures = 0
        self._passes = 0  # runs still to let through before the failures begin

    def fail_next(self, runs: int, *, after: int = 0) -> None:
        """The next ``runs`` runs fail; with ``after``, only once that many went through."""
        self._failures, self._passes = runs, after

    async def run(self, work: Callable[[Session], T]) -> T:
        if self._passes > 0:
            self._passes -= 1
        elif self._failures > 0:
            self._failures -= 1
            self.failed += 1
            await asyncio.sleep(0)
            raise DatabaseError("OperationalError")
        result = await super().run(work)
        self.runs += 1
        return result

    def read(self, work: Callable[[Session], T]) -> T:
        """For the test's own look at what is stored, on the spot."""
        with self.session() as session:
            return work(session)


# -- recorded captures, through the real pipeline ----------------------------------------------


@cache
def _captured(name: str) -> tuple[tuple[float, Mapping[str, str]], ...]:
    """A capture's events with their own times, read once per session."""
    return tuple(
        (message.at or 0.0, message.headers)
        for message in read_capture(CAPTURES / f"{name}.ami")
        if "Event" in message.headers  # responses to the recorder's actions: the link's own
    )


def link_events(
    name: str,
    start: float = T0,
    *,
    before: str | None = None,
    rename: Mapping[str, str] | None = None,
) -> list[LinkEvent]:
    """A capture's events as the link queues them, ``start`` + the capture's own times;
    ``before`` stops at the first event of that name; ``rename`` swaps header values (a
    Uniqueid for the ChannelId the service chose, for one)."""
    renamed = rename or {}
    events = []
    for offset, captured in _captured(name):
        if captured["Event"] == before:
            break
        headers = {key: renamed.get(value, value) for key, value in captured.items()}
        events.append(LinkEvent(headers, start + offset, start + offset))
    return events


class RecordingDesk:
    """A desk that only remembers what it was handed."""

    def __init__(self) -> None:
        self.updates: list[Update] = []

    def take(self, update: Update) -> None:
        self.updates.append(update)


@cache
def _never_opened() -> Database:
    """The database of the pipelines' writers, which never run: one engine, never connected."""
    return Database("sqlite://")


def make_pipeline(
    hub: Hub | None = None,
    desks: Iterable[Desk] = (),
    *,
    link: FakeLink | None = None,
    clock: Callable[[], float] | None = None,
    trunks: TrunkPlan = TRUNKS,
) -> Pipeline:
    """A pipeline as app/wiring.py builds it; its writer is never run (``handle`` returns
    the record jobs), so its database is never opened."""
    return Pipeline(
        link or FakeLink(),
        Switchboard(trunks),
        hub or Hub(),
        RecordWriter(_never_opened()),
        PopLedger(ack_within=2.0, max_resends=3),
        desks=tuple(desks),
        clock=clock or ManualClock(),
    )


def updates_of(events: Iterable[LinkItem]) -> list[Update]:
    """What the pipeline hands every desk for these items, in order."""
    desk = RecordingDesk()
    pipeline = make_pipeline(desks=[desk])
    for item in events:
        pipeline.handle(item)
    return desk.updates


async def until(check: Callable[[], object], what: str, limit: float = 1.0) -> None:
    """For a desk's own task: wait until ``check()`` holds (at once, when all is well)."""
    deadline = asyncio.get_running_loop().time() + limit
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {limit} s for {what}")
        await asyncio.sleep(0.001)


def split_at(
    updates: list[Update], test: Callable[[Update], bool]
) -> tuple[list[Update], list[Update]]:
    """(the updates before the first that passes ``test``, that one and the rest)."""
    for index, update in enumerate(updates):
        if test(update):
            return updates[:index], updates[index:]
    raise AssertionError("no update passed the test")


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """A desk's task running for the length of the block, as the service runs it."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
