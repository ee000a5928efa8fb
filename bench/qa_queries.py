"""QA's call queries at scale: the list with typical filters, and the CSV export.

Loads --rows generated call records (30 days of a 50-agent centre: outcomes, queues,
transfers, ~20,000 customers, dispositions, scores on about 30 %, notes in English and
Chinese, complaints on ~3 %, callbacks on ~5 %, a timeline per call; fixed seed) straight
into the tables, then asks `callassist serve` (its own process, as in production, attached
to an idle simulated PBX in this process) over HTTP as a QA user: each filter --runs times
after a warm-up, p50/p95 of the whole request; then the CSV of every row and of a filtered
subset, rows a second and the service's peak memory (VmHWM), which shows that it streams.

Figures, with the issue's targets beside them: list p95 < 150 ms, export > 20,000 rows/s.

    python bench/qa_queries.py [--rows 100000] [--runs 50]
                               [--database sqlite | --database postgresql://SERVER | --both]

A PostgreSQL URL names a server: the benchmark creates a throw-away database on it and drops
it afterwards. --both runs SQLite, then PostgreSQL at postgresql://postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from pwdlib import PasswordHash  # noqa: E402
from sqlalchemy import Connection, Table, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.auth.tokens import TokenSigner  # noqa: E402
from app.db.engine import Database, upgrade  # noqa: E402
from app.db.tables import (  # noqa: E402
    Callback,
    CallEvent,
    CallParty,
    CallRow,
    Complaint,
    ComplaintEvent,
    User,
    table_of,
)
from telephony.simulator.server import AmiServer  # noqa: E402

SEED = 5
END = 1_793_000_000.0  # fixed, so that every run loads the same calls
DAY = 86_400.0
DAYS = 30
AGENTS = [f"PJSIP/{1001 + index}" for index in range(50)]
CUSTOMERS = 20_000
INSERT_BATCH = 5_000
WARMUP = 5
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AMI_USER = "callassist"
AMI_SECRET = "qa-queries-bench-secret"
LIST_TARGET = 0.150  # seconds, p95
EXPORT_TARGET = 20_000  # rows a second

HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 15, 12, 14, 16, 15, 13, 10, 8, 6, 4, 3, 2, 1]
OUTCOMES = {"completed": 80, "abandoned": 8, "missed": 4, "dropped": 5, "failed": 3}
QUEUES = {"support": 45, "billing": 25, "sales": 20, "technical": 10}
DISPOSITIONS = {"resolved": 60, "callback": 12, "escalated": 10, "complaint_filed": 5,
                "no_action": 13}
PRODUCTS = ["broadband", "mobile", "landline", "tv", "other"]
NAMES_EN = ["Alice Brown", "James Smith", "Priya Patel", "Tom O'Neill", "Maria Garcia",
            "Wei Chen", "Sarah Jones", "David Lee"]
NAMES_ZH = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"]
PROBLEMS_EN = ["Router keeps dropping the connection every evening",
               "Bill is higher than last month, wants the charges explained",
               "No dial tone on the landline since yesterday",
               "Mobile data very slow in the city centre",
               "Wants to upgrade to the fibre plan",
               "TV box shows no signal after the storm",
               "Moving house next month, needs the service transferred",
               "Charged twice for the same top-up"]
PROBLEMS_ZH = ["宽带晚上经常断线", "本月话费比上月高 要求解释", "座机从昨天起没有拨号音",
               "市中心手机上网很慢", "想升级到光纤套餐", "暴雨后电视盒子没有信号",
               "下个月搬家 需要迁移宽带", "同一笔充值被扣了两次"]
NOTES_EN = ["Reset the router remotely, customer confirmed it works", "Explained the tariff",
            "Booked an engineer visit", "Customer was unhappy about the wait",
            "Refund requested, passed to billing", ""]
NOTES_ZH = ["已远程重启路由器 客户确认恢复", "已解释资费", "已预约上门维修", "客户对等待时间不满",
            "申请退款 已转账务", ""]
COMPLAINT_CATEGORIES = ["network", "billing", "service", "staff"]
SEVERITIES = ["low", "medium", "high", "critical"]


# -- generating the calls -----------------------------------------------------------------


@dataclass(slots=True)
class Generated:
    """Rows per table, in insertion order (calls before what refers to them)."""

    calls: list[dict[str, Any]]
    parties: list[dict[str, Any]]
    events: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    complaint_events: list[dict[str, Any]]
    callbacks: list[dict[str, Any]]

    def tables(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        return [
            (table_of(CallRow), self.calls),
            (table_of(CallParty), self.parties),
            (table_of(CallEvent), self.events),
            (table_of(Complaint), self.complaints),
            (table_of(ComplaintEvent), self.complaint_events),
            (table_of(Callback), self.callbacks),
        ]


def customer_numbers(rng: random.Random) -> list[str]:
    """Mainland mobiles mostly, some UK numbers: the centre answers in Chinese and English."""
    numbers: set[str] = set()
    while len(numbers) < CUSTOMERS:
        if rng.random() < 0.8:
            numbers.add(f"+861{rng.choice('3589')}{rng.randrange(10**9):09d}")
        else:
            numbers.add(f"+447{rng.randrange(10**9):09d}")
    return sorted(numbers)


def start_times(rng: random.Random, count: int) -> list[float]:
    """Spread over the last DAYS days, busiest in office hours; ascending, as rows arrive."""
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
    return sorted(
        END - DAYS * DAY + rng.randrange(DAYS) * DAY + hour * 3600 + rng.random() * 3600
        for hour in hours
    )


def generate(count: int, seed: int) -> Generated:
    rng = random.Random(seed)
    numbers = customer_numbers(rng)
    generated = Generated([], [], [], [], [], [])
    for pk, started in enumerate(start_times(rng, count), start=1):
        customer = numbers[min(CUSTOMERS - 1, int(CUSTOMERS * rng.random() ** 1.2))]
        add_call(generated, rng, pk, started, customer)
    return generated


def add_call(
    generated: Generated, rng: random.Random, pk: int, started: float, customer: str
) -> None:
    outcome = pick(rng, OUTCOMES)
    answered = outcome in ("completed", "dropped")
    agents = rng.sample(AGENTS, 2 if answered and rng.random() < 0.06 else 1)
    ring = round(rng.uniform(2, 25) if outcome != "failed" else 0.0, 2)
    talk = round(min(3600.0, rng.lognormvariate(5.0, 0.8)), 2) if answered else None
    if outcome == "dropped" and talk is not None:
        talk = round(talk * rng.random(), 2)
    hold = round(rng.uniform(5, 300), 2) if answered and rng.random() < 0.3 else 0.0
    answered_at = started + ring if answered else None
    ended = started + ring + (talk or 0.0) + hold
    outbound = rng.random() < 0.1
    call_id = f"{int(started)}.{pk}"
    chinese = customer.startswith("+86")
    notes = notes_of(rng, chinese, customer) if answered else ""
    disposition = pick(rng, DISPOSITIONS) if answered and rng.random() < 0.9 else None
    generated.calls.append({
        "id": pk, "call_id": call_id, "status": "ended",
        "direction": "outbound" if outbound else "inbound", "customer": customer,
        "agent": agents[-1] if answered else None,
        "queue": None if outbound else pick(rng, QUEUES),
        "started_at": started, "answered_at": answered_at, "ended_at": ended,
        "ring_seconds": ring, "talk_seconds": talk, "hold_seconds": hold if answered else None,
        "hangup_cause": 16 if outcome != "failed" else 34,
        "ended_by": ended_by(rng, outcome), "outcome": outcome,
        "drop_reason": "the channel driver hung up (no media: RTP timeout), cause 16"
        if outcome == "dropped" else None,
        "transfers": len(agents) - 1 if answered else 0,
        "recording": f"/var/spool/asterisk/monitor/{call_id}.wav" if answered else None,
        "ended_in_gap": rng.random() < 0.002, "pops_missed": int(rng.random() < 0.01),
        "disposition": disposition,
        "score": round(rng.triangular(20, 100, 82), 1) if answered and rng.random() < 0.33
        else None,
        "search_text": notes.lower(), "updated_at": ended,  # stored as the console does
        "connected_agents": ";".join(agents) if answered else "",  # as the recorder does
    })
    add_parties(generated, rng, pk, agents, answered)
    add_timeline(generated, pk, started=started, answered_at=answered_at, ended=ended,
                 agents=agents, hold=hold)
    add_follow_ups(generated, rng, pk, call_id=call_id, customer=customer, outcome=outcome,
                   disposition=disposition, ended=ended)


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ended_by(rng: random.Random, outcome: str) -> str:
    if outcome == "completed":
        return "customer" if rng.random() < 0.6 else "agent"
    return {"abandoned": "customer", "missed": "system", "dropped": "system"}.get(
        outcome, "system"
    )


def notes_of(rng: random.Random, chinese: bool, customer: str) -> str:
    """What `_index_for_review` stores: the notes, then the collected field values."""
    names, problems, notes = (
        (NAMES_ZH, PROBLEMS_ZH, NOTES_ZH) if chinese else (NAMES_EN, PROBLEMS_EN, NOTES_EN)
    )
    parts = [rng.choice(notes), rng.choice(names), customer, rng.choice(problems),
             rng.choice(PRODUCTS)]
    return "\n".join(parts).strip()


def add_parties(
    generated: Generated, rng: random.Random, pk: int, agents: list[str], answered: bool
) -> None:
    """Connected agents in order; an unanswered call rang at its agent (or nobody)."""
    if not answered and rng.random() < 0.3:
        return
    for position, endpoint in enumerate(agents):
        generated.parties.append(
            {"call_pk": pk, "endpoint": endpoint, "connected": answered, "position": position}
        )


def add_timeline(
    generated: Generated,
    pk: int,
    *,
    started: float,
    answered_at: float | None,
    ended: float,
    agents: list[str],
    hold: float,
) -> None:
    moments: list[tuple[str, float, str | None]] = [("ringing", started, agents[0])]
    if answered_at is not None:
        moments.append(("answered", answered_at, agents[0]))
        if hold:
            moments += [("hold", answered_at + 30, agents[0]),
                        ("unhold", answered_at + 30 + hold, agents[0])]
        if len(agents) > 1:
            moments.append(("transferred", ended - 60, agents[1]))
    moments.append(("ended", ended, None))
    for index, (kind, at, endpoint) in enumerate(moments):
        generated.events.append({"call_pk": pk, "key": f"{kind}:{index}", "kind": kind,
                                 "at": at, "endpoint": endpoint, "detail": {}})


def add_follow_ups(
    generated: Generated,
    rng: random.Random,
    pk: int,
    *,
    call_id: str,
    customer: str,
    outcome: str,
    disposition: str | None,
    ended: float,
) -> None:
    """A complaint on ~3 % of calls (filed during the call, some before the call row was
    written: call_id only), a callback on most unanswered or dropped calls (~5 % in all)."""
    complains = rng.random() < (0.5 if disposition == "complaint_filed" else 0.005)
    if complains:
        severity = rng.choice(SEVERITIES)
        generated.complaints.append({
            "call_pk": pk if rng.random() < 0.8 else None, "call_id": call_id,
            "customer": customer, "content": "Customer complaint about the service",
            "category": rng.choice(COMPLAINT_CATEGORIES), "severity": severity,
            "status": rng.choice(["received", "in_progress", "resolved", "closed"]),
            "due_at": ended + 86_400, "created_at": ended, "updated_at": ended,
        })
        generated.complaint_events.append({
            "complaint_id": len(generated.complaints), "kind": "received", "at": ended,
            "detail": {"severity": severity, "call_id": call_id},
        })
    if outcome in ("dropped", "abandoned", "missed") and rng.random() < 0.3:
        reason = "dropped" if outcome == "dropped" else outcome
        generated.callbacks.append({
            "call_pk": pk, "customer": customer, "reason": reason,
            "status": rng.choice(["pending", "done", "done", "failed"]),
            "attempts": rng.randrange(4), "created_at": ended, "updated_at": ended,
        })


# -- loading ------------------------------------------------------------------------------


def load(database_url: str, generated: Generated) -> None:
    """Bulk inserts in one transaction; complaint ids are 1.. as complaint_events expects."""
    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            for table, rows in generated.tables():
                for start in range(0, len(rows), INSERT_BATCH):
                    connection.execute(insert(table), rows[start : start + INSERT_BATCH])
            if database.backend == "postgresql":
                restart_sequences(connection)
        if database.backend == "postgresql":
            with database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                # What autovacuum does soon after a load: statistics, and the visibility map
                # that lets count(*) read an index alone.
                connection.execute(text("VACUUM ANALYZE"))
    finally:
        database.dispose()


def restart_sequences(connection: Connection) -> None:
    """The calls were inserted with their ids: the next call the service writes follows."""
    connection.execute(
        text("SELECT setval(pg_get_serial_sequence('calls', 'id'), (SELECT max(id) FROM calls))")
    )


def add_qa_user(database_url: str) -> str:
    database = Database(database_url)
    try:
        with database.session() as session:
            session.add(
                User(
                    username="qa-bench",
                    display_name="QA bench",
                    role="qa",
                    password_hash=PasswordHash.recommended().hash(secrets.token_urlsafe(16)),
                    created_at=time.time(),
                )
            )
            session.commit()
    finally:
        database.dispose()
    return "qa-bench"


@contextlib.contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str]:
    """A database of our own on the server, dropped afterwards whatever happens."""
    server = make_url(server_url).set(drivername="postgresql")
    name = f"callassist_bench_{uuid.uuid4().hex[:12]}"
    dsn = server.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the service and its idle PBX ---------------------------------------------------------


@contextlib.contextmanager
def idle_pbx() -> Iterator[int]:
    """An AMI simulator that places no calls, on its own loop in a thread: `serve` needs a
    PBX to attach to, and /readyz says when it has. Yields its port."""
    loop = asyncio.new_event_loop()
    server = AmiServer(username=AMI_USER, secret=AMI_SECRET)
    thread = threading.Thread(target=loop.run_forever, name="idle-pbx", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server.port
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def callassist_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("callassist")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "app.cli", *args]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def service_process(
    database_url: str, secret_key: str, ami_port: int, log: Path
) -> Iterator[tuple[str, int]]:
    """`callassist serve` as its own process; yields its base URL and pid."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLASSIST_")}
    env.update(
        CALLASSIST_DATABASE_URL=database_url,
        CALLASSIST_SECRET_KEY=secret_key,
        CALLASSIST_AMI_URL=f"ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{ami_port}",
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as output:
        service = subprocess.Popen(
            callassist_command("serve", "--port", str(port)),
            env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, service, log)
        yield base_url, service.pid
    finally:
        service.terminate()
        try:
            service.wait(20)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()


def wait_ready(base_url: str, service: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"callassist serve exited ({service.returncode}):\n{tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"callassist serve was not ready within 60 s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def memory_kib(pid: int, field: str) -> int:
    """VmHWM (peak resident set) or VmRSS of a process, in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


# -- measuring ----------------------------------------------------------------------------


def list_cases(customer: str) -> list[tuple[str, dict[str, Any]]]:
    """QA's typical questions; the week is the second-to-last of the data."""
    week = {"since": END - 14 * DAY, "until": END - 7 * DAY}
    return [
        ("no filter, page 1", {}),
        ("a week", week),
        ("agent", {"agent": "PJSIP/1017"}),
        ("outcome=dropped", {"outcome": "dropped"}),
        ("has_complaint", {"has_complaint": "true"}),
        ("has_callback", {"has_callback": "true"}),
        ("disposition=callback", {"disposition": "callback"}),
        ("score 40-60", {"score_min": 40, "score_max": 60}),
        ("customer", {"customer": customer}),
        ("q=router (en)", {"q": "router"}),
        ("q=宽带 (zh)", {"q": "宽带"}),
        ("deep page (offset 5000)", {"offset": 5000}),
        ("sort talk_seconds", {"sort": "talk_seconds"}),
        ("week+agent+completed+score", {**week, "agent": "PJSIP/1017", "outcome": "completed",
                                         "score_min": 50, "sort": "score"}),
        ("week+disposition+q, by talk", {**week, "disposition": "resolved", "q": "router",
                                          "sort": "talk_seconds", "order": "asc"}),
    ]


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least ``fraction`` of the values at or below."""
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def timed_list(client: httpx.Client, params: dict[str, Any]) -> tuple[float, int]:
    start = time.perf_counter()
    reply = client.get("/api/calls", params=params)
    elapsed = time.perf_counter() - start
    if reply.status_code != 200:
        raise SystemExit(f"GET /api/calls {params} -> {reply.status_code}: {reply.text}")
    return elapsed, int(reply.json()["total"])


def measure_lists(client: httpx.Client, customer: str, runs: int) -> list[float]:
    print(f"list (GET /api/calls, 50 a page; {runs} runs each after {WARMUP}; ms):")
    print(f"  {'filter':<30} {'matched':>8} {'p50':>7} {'p95':>7} {'max':>7}")
    every: list[float] = []
    for name, params in list_cases(customer):
        for _ in range(WARMUP):
            timed_list(client, params)
        times, totals = zip(*(timed_list(client, params) for _ in range(runs)), strict=True)
        ordered = sorted(times)
        every += ordered
        print(f"  {padded(name, 30)} {totals[0]:>8,} {percentile(ordered, 0.5) * 1000:>7.1f} "
              f"{percentile(ordered, 0.95) * 1000:>7.1f} {ordered[-1] * 1000:>7.1f}"
              f"{'' if percentile(ordered, 0.95) < LIST_TARGET else '  over 150 ms'}")
    return every


def padded(label: str, width: int) -> str:
    """Left-aligned in a terminal: a Chinese character takes two columns."""
    wide = sum(unicodedata.east_asian_width(char) in "WF" for char in label)
    return label + " " * max(0, width - len(label) - wide)


@dataclass(frozen=True, slots=True)
class Export:
    rows: int
    seconds: float
    first_byte: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def timed_export(client: httpx.Client, params: dict[str, Any]) -> Export:
    """Streams the CSV, counting lines (no field of these rows holds a line break)."""
    start = time.perf_counter()
    first_byte = 0.0
    lines = 0
    with client.stream("GET", "/api/calls.csv", params=params) as reply:
        if reply.status_code != 200:
            raise SystemExit(f"GET /api/calls.csv -> {reply.status_code}: {reply.read()!r}")
        for chunk in reply.iter_bytes():
            first_byte = first_byte or time.perf_counter() - start
            lines += chunk.count(b"\n")
    return Export(lines - 1, time.perf_counter() - start, first_byte)


def measure_exports(client: httpx.Client, pid: int, expected: int) -> None:
    before = memory_kib(pid, "VmHWM")
    print(f"CSV export (GET /api/calls.csv; 3 runs each; service peak RSS before: "
          f"{before / 1024:.0f} MiB):")
    for name, params in (
        ("every call", {}),
        ("a week, completed", {"since": END - 14 * DAY, "until": END - 7 * DAY,
                               "outcome": "completed"}),
    ):
        exports = [timed_export(client, params) for _ in range(3)]
        if name == "every call" and exports[0].rows != expected:
            raise SystemExit(f"the CSV had {exports[0].rows} rows, not {expected}")
        middle = sorted(exports, key=lambda e: e.rate)[1]
        print(f"  {name:<20} {middle.rows:>8,} rows in {middle.seconds:5.2f} s = "
              f"{middle.rate:>8,.0f} rows/s (median; runs "
              f"{', '.join(f'{e.rate:,.0f}' for e in exports)}), first byte "
              f"{middle.first_byte * 1000:.0f} ms; service peak RSS "
              f"{memory_kib(pid, 'VmHWM') / 1024:.0f} MiB"
              f"{'' if middle.rate > EXPORT_TARGET else '  under 20,000 rows/s'}")


def summarise(every: list[float]) -> None:
    ordered = sorted(every)
    p95 = percentile(ordered, 0.95)
    print(f"  {'all filters':<30} {'':>8} {percentile(ordered, 0.5) * 1000:>7.1f} "
          f"{p95 * 1000:>7.1f} {ordered[-1] * 1000:>7.1f}   target p95 < 150 ms: "
          f"{'met' if p95 < LIST_TARGET else 'missed'}")


# -- the run ------------------------------------------------------------------------------


def run_on(database_url: str, backend: str, args: argparse.Namespace) -> None:
    print(f"\n== {backend}: {args.rows:,} calls ==", flush=True)
    upgrade(database_url)
    start = time.perf_counter()
    generated = generate(args.rows, SEED)
    made = time.perf_counter() - start
    load(database_url, generated)
    print(f"generated in {made:.1f} s, loaded in {time.perf_counter() - start - made:.1f} s: "
          f"{len(generated.calls):,} calls, {len(generated.parties):,} parties, "
          f"{len(generated.events):,} timeline events, {len(generated.complaints):,} "
          f"complaints, {len(generated.callbacks):,} callbacks", flush=True)
    customer = typical_customer(generated.calls)
    username = add_qa_user(database_url)
    secret_key = secrets.token_urlsafe(48)
    token = TokenSigner(secret_key, minutes=120).issue(username, "qa")
    with tempfile.TemporaryDirectory(prefix="qa-queries-") as workdir, idle_pbx() as ami_port:
        log = Path(workdir) / "service.log"
        with service_process(database_url, secret_key, ami_port, log) as (base_url, pid):
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
                every = measure_lists(client, customer, args.runs)
                summarise(every)
                measure_exports(client, pid, len(generated.calls))


def typical_customer(calls: Iterable[dict[str, Any]]) -> str:
    """A customer with a few calls: the one at the middle of those with more than one."""
    counts: dict[str, int] = {}
    for call in calls:
        counts[call["customer"]] = counts.get(call["customer"], 0) + 1
    regulars = sorted(number for number, seen in counts.items() if seen > 1)
    return regulars[len(regulars) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="call records to load")
    parser.add_argument("--runs", type=int, default=50, help="timed requests per filter")
    parser.add_argument("--database", default="sqlite",
                        help="sqlite (a temporary file), or a PostgreSQL server URL")
    parser.add_argument("--both", action="store_true",
                        help=f"SQLite, then PostgreSQL at {DEFAULT_SERVER}")
    args = parser.parse_args()
    if args.rows < 1000 or args.runs < 1:
        parser.error("--rows must be at least 1000 and --runs at least 1")
    print(f"QA queries: {args.rows:,} calls over {DAYS} days, seed {SEED}")
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}", flush=True)
    servers = [DEFAULT_SERVER] if args.both else []
    if args.database != "sqlite":
        servers = [args.database]
    if args.both or args.database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="qa-queries-") as workdir:
            run_on(f"sqlite:///{workdir}/callassist.db", "sqlite", args)
    for server in servers:
        with throwaway_postgres(server) as database_url:
            run_on(database_url, "postgresql", args)


if __name__ == "__main__":
    main()
