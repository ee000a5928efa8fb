"""Faults at the worst moments: a real `callassist serve` is killed, stopped or starved while
the AMI simulator plays real calls, and what it recorded is checked against the truth.

The truth is what the PBX said: every event the simulator sent, read by a plain AMI client of
its own and replayed offline through the core (as `callassist replay` would). Per scenario:

    expected    calls the scenario played (the truth's records)
    found       of those, stored as ended in the service's database
    wrong       found but differing from the truth in outcome, ended_by, agent, customer,
                queue, hangup cause, direction, transfers, or ring/talk time by over 1 s
    flagged     found and honestly marked as partly unseen (ended_in_gap)
    duplicated  callbacks for one dropped call beyond the first
    originates  Originates per dropped call (the goal: exactly 1 each)

Goal: all found, none wrong, exactly one Originate per dropped call, on SQLite and PostgreSQL.

    python bench/faults.py [--calls 4] [--database sqlite | --database postgresql://SERVER
                           | --both] [--scenario NAME ...]

A PostgreSQL URL names a server: each scenario gets a throw-away database on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from telephony.calls.model import CallEnded, CallRecord  # noqa: E402
from telephony.calls.trunks import TrunkPlan  # noqa: E402
from telephony.simulator import AmiServer  # noqa: E402
from telephony.simulator.staged import StagedCall  # noqa: E402
from telephony.simulator.traffic import Traffic  # noqa: E402
from telephony.switchboard import Switchboard  # noqa: E402
from tests.integration.event_client import EventClient  # noqa: E402
from tests.integration.serve_process import ServeProcess  # noqa: E402
from tests.service.conftest import throwaway_postgres  # noqa: E402
from tests.service.harness import prepare_database  # noqa: E402
from tests.service.outage import Outage, outage_for  # noqa: E402

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
COMPARED = ("outcome", "ended_by", "agent", "customer", "queue", "hangup_cause")
COMPARED += ("direction", "transfers")
CALLBACK_FOR = "CALLASSIST_CALLBACK_FOR="


@dataclass
class Bench:
    """One scenario's world: the PBX, its traffic, the truth's ear and the service."""

    pbx: AmiServer
    traffic: Traffic
    truth: EventClient
    service: ServeProcess
    calls: int
    ear_session: Any
    outage: Outage | None
    played: list[str] = field(default_factory=list)  # call_ids the scenario placed

    def stage(self, scenario: str, index: int) -> StagedCall:
        customer = (f"+86138{index:08d}", f"Customer {index}")
        return self.traffic.stage(scenario, agent=f"PJSIP/{1001 + index}", customer=customer)

    async def ring_all(self, scenario: str) -> list[StagedCall]:
        calls = [self.stage(scenario, index) for index in range(self.calls)]
        for call in calls:
            await call.ring()
            assert call.call_id is not None
            self.played.append(call.call_id)
        return calls


@dataclass
class Tally:
    expected: int = 0
    found: int = 0
    wrong: int = 0
    flagged: int = 0
    duplicated: int = 0
    originates: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Scenario = Callable[[Bench], Awaitable[None]]


# -- the scenarios ----------------------------------------------------------------------------


async def kill_while_talking(bench: Bench) -> None:
    """SIGKILL while every call is answered; the customers hang up after the start."""
    calls = await bench.ring_all("answered_customer_hangs_up")
    for call in calls:
        await call.answer()
    await stored(bench, "live", lambda row: row["agent"] is not None)
    bench.service.kill()
    await bench.service.start()
    for call in calls:
        await call.hang_up()


async def kill_while_ringing(bench: Bench) -> None:
    """SIGKILL while every call rings; answered and ended after the start."""
    calls = await bench.ring_all("answered_customer_hangs_up")
    await stored(bench, "live")
    bench.service.kill()
    await bench.service.start()
    for call in calls:
        await call.answer()
        await call.hang_up()


async def link_cut_while_talking(bench: Bench) -> None:
    """The AMI link is cut while every call is answered; the service logs in again."""
    calls = await bench.ring_all("answered_customer_hangs_up")
    for call in calls:
        await call.answer()
    await stored(bench, "live", lambda row: row["agent"] is not None)
    await cut_the_link(bench)
    for call in calls:
        await call.hang_up()


async def kill_after_a_drop_is_stored(bench: Bench) -> None:
    """SIGKILL the moment the dropped calls are stored, before any callback is dialled."""
    calls = await bench.ring_all("dropped_network_cause")
    for call in calls:
        await call.answer()
    bench.pbx.answer_originates = False  # hold the callbacks back until the kill
    for call in calls:
        await call.hang_up()
    await stored(bench, "ended")
    bench.service.kill()
    bench.pbx.answer_originates = True
    await bench.service.start()


def after_the_first_originate(
    delay: float, fault: Callable[[Bench], Awaitable[None]]
) -> Scenario:
    """A scenario: dropped calls, and ``fault`` strikes ``delay`` s after the PBX took the
    first callback's Originate (0.3 s: accepted; 3 s: the agent has answered)."""

    async def scenario(bench: Bench) -> None:
        struck, first = asyncio.Event(), [True]

        async def originate_then_fault(action: dict[str, str]) -> None:
            if first and first.pop():
                asyncio.get_running_loop().call_later(
                    delay, lambda: asyncio.ensure_future(strike())
                )
            await bench.traffic.answer_originate(action)

        async def strike() -> None:
            await fault(bench)
            struck.set()

        bench.pbx.on_originate = originate_then_fault
        for call in await bench.ring_all("dropped_network_cause"):
            await call.answer()
            await call.hang_up()
        await asyncio.wait_for(struck.wait(), 30)

    return scenario


async def kill_and_start(bench: Bench) -> None:
    bench.service.kill()
    await bench.service.start()


async def cut_the_link(bench: Bench) -> None:
    logins = bench.pbx.logins
    for session in list(bench.pbx.sessions):
        if session is not bench.ear_session:
            session.abort()  # the service's link only: the truth's ear hears on
    await bench.pbx.wait_logged_in(logins + 1, timeout=30)


async def sigterm_during_a_database_outage(bench: Bench) -> None:
    """PostgreSQL goes away; the calls end; the service gets SIGTERM; PostgreSQL comes back
    and the service is started again."""
    assert bench.outage is not None
    calls = await bench.ring_all("answered_customer_hangs_up")
    for call in calls:
        await call.answer()
    await stored(bench, "live", lambda row: row["agent"] is not None)
    heard = await finished_calls(bench)
    bench.outage.begin()
    for call in calls:
        await call.hang_up()
    await until(lambda: finished_calls(bench), heard + len(calls))
    await bench.service.stop()
    bench.outage.end()
    await bench.service.start()


async def database_down_as_the_calls_drop(bench: Bench) -> None:
    """PostgreSQL is away while the calls drop, and back three seconds later."""
    assert bench.outage is not None
    calls = await bench.ring_all("dropped_network_cause")
    for call in calls:
        await call.answer()
    await stored(bench, "live", lambda row: row["agent"] is not None)
    bench.outage.begin()
    for call in calls:
        await call.hang_up()
    await asyncio.sleep(3)
    bench.outage.end()


SCENARIOS: dict[str, Scenario] = {
    "kill_while_talking": kill_while_talking,
    "kill_while_ringing": kill_while_ringing,
    "link_cut_while_talking": link_cut_while_talking,
    "kill_after_a_drop_is_stored": kill_after_a_drop_is_stored,
    "kill_after_the_originate_is_accepted": after_the_first_originate(0.3, kill_and_start),
    "kill_after_the_agent_answered": after_the_first_originate(3.0, kill_and_start),
    "link_cut_after_the_originate_is_accepted": after_the_first_originate(0.3, cut_the_link),
    "link_cut_after_the_agent_answered": after_the_first_originate(3.0, cut_the_link),
    "sigterm_during_a_database_outage": sigterm_during_a_database_outage,
    "database_down_as_the_calls_drop": database_down_as_the_calls_drop,
}
# A child process's database can be starved only through a proxy: PostgreSQL's.
NEEDS_OUTAGE = {"sigterm_during_a_database_outage", "database_down_as_the_calls_drop"}


# -- waiting and counting ---------------------------------------------------------------------


async def finished_calls(bench: Bench) -> int:
    """Calls the service heard end, from its metrics (they need no database)."""
    reply = await bench.service.client.get("/metrics")
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples
            if sample.name == "callassist_calls_total"
        )
    )


async def until(count: Callable[[], Awaitable[int]], wanted: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while await count() < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the service heard fewer than {wanted} calls end")
        await asyncio.sleep(0.1)


async def stored(
    bench: Bench,
    status: str,
    also: Callable[[dict[str, Any]], bool] = lambda row: True,
    within: float = 30.0,
) -> list[dict[str, Any]]:
    """Until every played call is in the service's list with that status."""
    deadline = time.monotonic() + within
    while True:
        rows = {row["call_id"]: row for row in await bench.service.calls()}
        mine = [rows.get(call_id) for call_id in bench.played]
        if all(row is not None and row["status"] == status and also(row) for row in mine):
            return [row for row in mine if row is not None]
        if time.monotonic() > deadline:
            raise TimeoutError(f"calls not {status} within {within} s")
        await asyncio.sleep(0.1)


async def settle(bench: Bench, within: float = 40.0) -> None:
    """Until the played calls ended and no callback is still in the air."""
    with contextlib.suppress(TimeoutError):
        await stored(bench, "ended", within=within)
    for _ in range(80):  # callbacks being played
        if not bench.traffic.in_flight:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)  # a second Originate would come within seconds


def truth(events: list[dict[str, str]]) -> dict[str, CallRecord]:
    board = Switchboard(TrunkPlan.parse("PJSIP/2001"))
    records: dict[str, CallRecord] = {}
    for event in events:
        for signal in board.feed(event, float(event["Timestamp"])):
            if isinstance(signal, CallEnded):
                records[signal.call_id] = signal.record
    return records


def differences(row: dict[str, Any], record: CallRecord) -> list[str]:
    want = record.contract()
    wrong = [name for name in COMPARED if row.get(name) != want[name]]
    for name in ("ring_seconds", "talk_seconds"):
        got, expected = row.get(name), want[name]
        if (got is None) != (expected is None) or (
            got is not None and expected is not None and abs(got - expected) > 1.0
        ):
            wrong.append(name)
    return wrong


async def tally(bench: Bench) -> Tally:
    records = truth(await bench.truth.catch_up())
    rows = {row["call_id"]: row for row in await bench.service.calls()}
    result = Tally(expected=len(bench.played))
    for call_id in bench.played:
        row, record = rows.get(call_id), records.get(call_id)
        if row is None or row["status"] != "ended" or record is None:
            result.notes.append(f"{call_id}: not found")
            continue
        result.found += 1
        if row["ended_in_gap"]:
            result.flagged += 1
        elif wrong := differences(row, record):
            result.wrong += 1
            result.notes.append(f"{call_id}: {', '.join(wrong)}")
    await count_callbacks(bench, records, result)
    return result


async def count_callbacks(bench: Bench, records: dict[str, CallRecord], result: Tally) -> None:
    dropped = [i for i in bench.played if i in records and records[i].outcome == "dropped"]
    if not dropped:
        return
    originates = [a for a in bench.pbx.actions if a.get("Action", "").lower() == "originate"]
    result.originates = [
        sum(1 for action in originates if f"{CALLBACK_FOR}{call_id}" in str(action))
        for call_id in dropped
    ]
    reply = await bench.service.get("/api/callbacks", "supervisor", limit=500, status="all")
    if reply.status_code == 200:
        per_call = Counter(item.get("call_id") for item in reply.json().get("items", []))
        result.duplicated = sum(max(0, per_call[call_id] - 1) for call_id in dropped)


# -- running ------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        url = f"sqlite:///{workdir}/callassist.db"
        prepare_database(url)
        yield url
        return
    with throwaway_postgres(kind) as url:
        prepare_database(url)
        yield url


@contextlib.asynccontextmanager
async def world(
    url: str, workdir: Path, calls: int, outage: Outage | None
) -> AsyncIterator[Bench]:
    pbx = AmiServer(timestampevents=True)  # the truth's ear logs in as callassist/secret
    await pbx.start()
    agents = [f"PJSIP/{1001 + index}" for index in range(calls)]
    traffic = Traffic(pbx, agents=agents, rng=random.Random(14), calls_per_minute=0)
    pbx.on_originate = traffic.answer_originate
    truth_ear = EventClient(pbx)
    await truth_ear.connect()
    ear_session = pbx.sessions[-1]
    ami_url = f"ami://{pbx.username}:{pbx.secret}@127.0.0.1:{pbx.port}"
    served = outage.url if outage is not None else url
    service = ServeProcess(served, pbx, workdir, ami_url=ami_url, stop_store_seconds="1")
    try:
        await service.start()
        yield Bench(pbx, traffic, truth_ear, service, calls, ear_session, outage)
    finally:
        await service.close()
        await traffic.close()
        await truth_ear.close()
        await pbx.close()


async def run_scenario(name: str, kind: str, calls: int) -> Tally | None:
    if name in NEEDS_OUTAGE and kind == "sqlite":
        return None
    with tempfile.TemporaryDirectory(prefix="callassist-faults-") as tmp:
        workdir = Path(tmp)
        with database(kind, workdir) as url, contextlib.ExitStack() as stack:
            outage = stack.enter_context(outage_for(url)) if name in NEEDS_OUTAGE else None
            async with world(url, workdir, calls, outage) as bench:
                try:
                    await SCENARIOS[name](bench)
                    await settle(bench)
                except (TimeoutError, AssertionError) as error:
                    result = await tally(bench)
                    result.notes.append(f"scenario stopped: {error}"[:300])
                    return result
                return await tally(bench)


def report(name: str, kind: str, result: Tally | None) -> None:
    label = "sqlite" if kind == "sqlite" else "postgresql"
    if result is None:
        print(f"{name:42} {label:10} (PostgreSQL only: starved through a proxy)", flush=True)
        return
    originates = ",".join(map(str, result.originates)) or "-"
    print(
        f"{name:42} {label:10} {result.expected:8} {result.found:5} {result.wrong:5} "
        f"{result.flagged:7} {result.duplicated:10} {originates}",
        flush=True,
    )
    for note in result.notes:
        print(f"    {note}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4, help="calls per scenario")
    parser.add_argument("--database", default="sqlite", help="sqlite or postgresql://SERVER")
    parser.add_argument("--both", action="store_true", help="SQLite, then local PostgreSQL")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    kinds = ["sqlite", LOCAL_POSTGRES] if args.both else [args.database]
    names = args.scenario or list(SCENARIOS)
    print(f"{'scenario':42} {'database':10} expected found wrong flagged duplicated originates")
    for kind in kinds:
        for name in names:
            report(name, kind, asyncio.run(run_scenario(name, kind, args.calls)))


if __name__ == "__main__":
    main()
