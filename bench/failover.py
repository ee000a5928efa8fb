"""Failover: two real `callassist serve` processes on one PostgreSQL and one simulated PBX;
the owner is SIGKILLed mid-call, round after round, and the other takes the PBX over.

Per round: --calls calls are answered (half of them to be dropped by the network), the owner
is killed, the calls end while the other instance takes over, and then:

    owner s     seconds from the kill to the stand-by holding the PBX's lock
    event s     seconds from the kill to the new owner's link logged in with the PBX's
                channel list taken up (its first event: the live calls, merged with the
                database's), as its /metrics show it
    lost        calls whose record is not ended with its agent and answered_at as the dead
                owner stored them (goal 0)
    duplicate   Originates beyond one per dropped call (goal 0)

The killed instance is started again and stands by: the next round kills the other.

    python bench/failover.py [--rounds 3] [--calls 4] [--database postgresql://SERVER]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from telephony.simulator import AmiServer  # noqa: E402
from telephony.simulator.staged import StagedCall  # noqa: E402
from telephony.simulator.traffic import Traffic  # noqa: E402
from tests.integration.serve_process import ServeProcess  # noqa: E402
from tests.service.conftest import throwaway_postgres  # noqa: E402
from tests.service.harness import AMI_SECRET, AMI_USER, prepare_database  # noqa: E402

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SCENARIOS = ("dropped_network_cause", "answered_customer_hangs_up")


@dataclass
class Round:
    owner_seconds: float
    event_seconds: float
    lost: int
    duplicates: int
    dropped: int


async def metric(service: ServeProcess, name: str) -> float:
    reply = await service.client.get("/metrics")
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return 0.0


async def until(check: Any, what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within} s for {what}")
        await asyncio.sleep(0.02)


async def answered_calls(traffic: Traffic, count: int) -> list[StagedCall]:
    calls = []
    for number in range(count):
        scenario = SCENARIOS[number % 2]
        call = traffic.stage(scenario, agent=f"PJSIP/{1001 + number}")
        await call.ring()
        await call.answer()
        calls.append(call)
    return calls


async def stored(service: ServeProcess, calls: list[StagedCall], **wanted: Any) -> dict[str, Any]:
    """The calls' rows once each has the wanted values."""
    ids = {call.call_id for call in calls}

    async def rows() -> dict[str, Any]:
        found = {row["call_id"]: row for row in await service.calls() if row["call_id"] in ids}
        good = all(all(row.get(k) == v for k, v in wanted.items()) for row in found.values())
        return found if len(found) == len(ids) and good else {}

    await until(rows, f"{len(ids)} calls stored with {wanted}")
    return await rows()


async def one_round(owner: ServeProcess, standby: ServeProcess, traffic: Traffic,
                    pbx: AmiServer, calls: int) -> Round:
    staged = await answered_calls(traffic, calls)
    before = await stored(standby, staged, status="live")
    sent_before = _originates(pbx)
    owner.kill()
    killed = time.monotonic()

    async def owns() -> bool:
        return await metric(standby, "callassist_pbx_owner") == 1.0

    async def link_up() -> bool:
        return await metric(standby, "callassist_ami_link_up") == 1.0

    await until(owns, "the stand-by taking the lock")
    owner_seconds = time.monotonic() - killed
    await until(link_up, "the new owner's link")
    event_seconds = time.monotonic() - killed
    for call in staged:
        await call.hang_up()
    lost = await _lost(standby, staged, before)
    dropped = sum(1 for number in range(calls) if SCENARIOS[number % 2].startswith("dropped"))
    await until(lambda: _settled(standby, staged, dropped), "the callbacks followed")
    duplicates = max(0, _originates(pbx) - sent_before - dropped)
    return Round(owner_seconds, event_seconds, lost, duplicates, dropped)


async def _lost(service: ServeProcess, calls: list[StagedCall], before: dict[str, Any]) -> int:
    try:
        after = await stored(service, calls, status="ended")
    except AssertionError:
        after = {row["call_id"]: row for row in await service.calls()}
    kept = ("agent", "answered_at", "started_at")
    return sum(
        1
        for call_id, row in before.items()
        if call_id not in after or any(after[call_id].get(k) != row.get(k) for k in kept)
        or after[call_id].get("status") != "ended"
    )


async def _settled(service: ServeProcess, calls: list[StagedCall], dropped: int) -> bool:
    reply = await service.get("/api/callbacks", "supervisor", status="all")
    ids = {call.call_id for call in calls}
    mine = [c for c in reply.json()["items"] if c["call_id"] in ids]
    return len(mine) >= dropped and all(c["status"] in ("reached", "queued") for c in mine)


def _originates(pbx: AmiServer) -> int:
    return sum(1 for a in pbx.actions if a.get("Action", "").lower() == "originate")


async def run(server: str, rounds: int, calls: int) -> list[Round]:
    pbx = AmiServer(username=AMI_USER, secret=AMI_SECRET, timestampevents=True)
    await pbx.start()
    agents = tuple(f"PJSIP/{1001 + n}" for n in range(calls))
    traffic = Traffic(pbx, agents=agents, rng=random.Random(16), calls_per_minute=0, speed=3.0)
    pbx.on_originate = traffic.answer_originate
    results = []
    with throwaway_postgres(server) as url, tempfile.TemporaryDirectory() as work:
        prepare_database(url)
        pair = []
        for name in ("alpha", "beta"):
            (Path(work) / name).mkdir()
            pair.append(ServeProcess(url, pbx, Path(work) / name, instance_name=name))
        try:
            await pair[0].start()
            await pair[1].start()
            for number in range(1, rounds + 1):
                try:
                    results.append(await one_round(pair[0], pair[1], traffic, pbx, calls))
                except AssertionError:
                    for process in pair:
                        log = [line for line in process.log.splitlines() if "GET /" not in line]
                        print(f"--- {process.workdir.name}:", *log[-30:], sep="\n")
                    raise
                print(f"round {number} done", flush=True)
                await pair[0].start()  # the dead one comes back and stands by
                pair.reverse()
        finally:
            for process in pair:
                await process.close()
            await traffic.close()
            await pbx.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=4, help="answered calls per round")
    parser.add_argument("--database", default=LOCAL_POSTGRES, help="postgresql://SERVER")
    args = parser.parse_args()
    results = asyncio.run(run(args.database, args.rounds, args.calls))
    print(f"{'round':>5} {'owner s':>8} {'event s':>8} {'lost':>5} {'duplicate':>9}")
    for number, result in enumerate(results, 1):
        print(
            f"{number:>5} {result.owner_seconds:>8.2f} {result.event_seconds:>8.2f}"
            f" {result.lost:>5} {result.duplicates:>9}"
        )
    worst = max(r.event_seconds for r in results)
    print(
        f"calls {args.calls * len(results)}, dropped {sum(r.dropped for r in results)};"
        f" worst seconds to the new owner's first event {worst:.2f};"
        f" records lost {sum(r.lost for r in results)};"
        f" duplicate Originates {sum(r.duplicates for r in results)}"
    )


if __name__ == "__main__":
    main()
