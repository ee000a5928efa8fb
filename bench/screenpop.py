"""Screen-pop latency: from the AMI frame reaching callassist to the pop reaching the console.

Everything real and on loopback: the AMI simulator (its own process) plays the lab's
recorded calls, re-stamped, at --rate calls a second across --agents agent phones
(PJSIP/1001...); `callassist serve` (its own process, as in production) reads them over its
AMI link; --agents WebSocket consoles (this process, one event loop) take the pops and
acknowledge them. A pop's latency is the console's time.time() when it has the message minus
the message's received_at, the service's time.time() when its link read the frame.

After --warmup seconds of arrivals (the calls in progress build up to their steady number),
the pops whose frame was read in the next --seconds are counted; the service's /metrics is
scraped at the end. Figures, not a pass/fail: the issue's target is p99 < 50 ms at 50
calls/s with 500 agents on a 2-core machine.

With --instances N (issue 16: N `callassist serve` processes on one PostgreSQL and one
Redis, the first one started owns the PBX), console i connects to instance i mod N, as a
proxy in front would spread them: the pops of the consoles on the others go through Redis,
and so do their acknowledgements. Issue 16's target: p99 < 20 ms with 2 instances, 2,000
consoles, 100 calls/s.

    python bench/screenpop.py [--agents 500] [--rate 50] [--seconds 60] [--warmup 30]
                              [--speed 1] [--database sqlite|postgresql://...]
                              [--instances 1] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simulated_pbx  # noqa: E402
from agent_consoles import Consoles, PopSeen, Tally  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from pwdlib import PasswordHash  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from app.auth.tokens import TokenSigner  # noqa: E402
from app.db.engine import Database  # noqa: E402
from app.db.tables import User  # noqa: E402

TRUNK = "PJSIP/2001"
FIRST_EXTENSION = 1001
MOST_AGENTS = 5000
GRACE = 3.0  # after the window: a pop re-sent at 2 s still lands in the tally
BACKLOG_EVERY = 5.0
BUSY_MACHINE = 0.25  # of a core, taken by other processes in the window: worth a warning


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    end: float
    calls: int  # placed in the window
    no_agent_free: int  # of them, calls every agent was too busy for

    @property
    def seconds(self) -> float:
        return self.end - self.start


# -- setting up: database, users, tokens, processes ------------------------------------------


def agent_endpoints(count: int) -> list[str]:
    """PJSIP/1001...: four-digit extensions up to 999 agents, five-digit ones (10001...)
    beyond, so that no agent is ever the trunk (PJSIP/2001)."""
    if not 1 <= count <= MOST_AGENTS:
        raise SystemExit(f"--agents must be 1 to {MOST_AGENTS}")
    first = FIRST_EXTENSION if count < 2001 - FIRST_EXTENSION else 10 * FIRST_EXTENSION - 9
    return [f"PJSIP/{first + index}" for index in range(count)]


def callassist_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("callassist")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "app.cli", *args]


def service_env(
    database_url: str, secret_key: str, ami_port: int, redis_url: str | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLASSIST_")}
    env.update(
        CALLASSIST_DATABASE_URL=database_url,
        CALLASSIST_SECRET_KEY=secret_key,
        CALLASSIST_AMI_URL=simulated_pbx.ami_url(ami_port),
        CALLASSIST_TRUNKS=TRUNK,
        PYTHONUNBUFFERED="1",
    )
    if redis_url is not None:
        env.update(
            CALLASSIST_REDIS_URL=redis_url,
            CALLASSIST_REDIS_PREFIX=f"screenpop-{secrets.token_hex(6)}",
        )
    return env


def upgrade_schema(database_url: str) -> None:
    env = {**os.environ, "CALLASSIST_DATABASE_URL": database_url}
    done = subprocess.run(
        callassist_command("db", "upgrade"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"callassist db upgrade failed:\n{done.stderr}")


def agent_users(database_url: str, endpoints: list[str]) -> list[str]:
    """The usernames of the agents at these phones, adding the ones missing.

    One Argon2 hash for all (hashing 500 passwords would take minutes; nobody logs in with
    them: the tokens are minted). Phones that already have an agent (a re-run on the same
    PostgreSQL database) keep theirs.
    """
    database = Database(database_url)
    try:
        with database.session() as session:
            found = session.exec(select(User).where(col(User.endpoint).in_(endpoints))).all()
            usernames = {user.endpoint: user.username for user in found}
            password_hash = PasswordHash.recommended().hash(secrets.token_urlsafe(16))
            now = time.time()
            for endpoint in endpoints:
                if endpoint in usernames:
                    continue
                username = f"screenpop-{endpoint.partition('/')[2]}"
                session.add(
                    User(
                        username=username,
                        display_name=f"Agent {endpoint.partition('/')[2]}",
                        role="agent",
                        endpoint=endpoint,
                        password_hash=password_hash,
                        created_at=now,
                    )
                )
                usernames[endpoint] = username
            session.commit()
    finally:
        database.dispose()
    return [usernames[endpoint] for endpoint in endpoints]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_ready(base_url: str, service: subprocess.Popen[bytes], log: Path) -> None:
    """Until /readyz says the AMI link is up and the database answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"callassist serve exited ({service.returncode}):\n{tail(log)}")
        with contextlib.suppress(OSError):
            if http_get(f"{base_url}/readyz", timeout=2)[0] == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"callassist serve was not ready within 60 s:\n{tail(log)}")


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def pbx_process(
    agents: list[str], rate: float, speed: float
) -> Iterator[tuple[Connection, int, int]]:
    """The simulator in a child process: (its pipe, its AMI port, its pid)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(
        target=simulated_pbx.run, args=(theirs, agents, rate, speed), name="simulated-pbx"
    )
    child.start()
    try:
        if not ours.poll(60):
            raise SystemExit("the AMI simulator did not start within 60 s")
        port: int = ours.recv()
        assert child.pid is not None
        yield ours, port, child.pid
    finally:
        if child.is_alive():
            with contextlib.suppress(OSError):
                ours.send("stop")
                ours.poll(15)
        child.join(15)
        if child.is_alive():
            child.terminate()
            child.join()


@contextlib.contextmanager
def service_process(env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    """`callassist serve` as its own process; yields its pid."""
    with log.open("wb") as output:
        service = subprocess.Popen(
            callassist_command("serve", "--port", str(port)),
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", service, log)
        yield service.pid
    finally:
        service.terminate()
        try:
            service.wait(20)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()


# -- measuring ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (psutil is not a dependency)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time spent by the whole machine, every core, every process (/proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least ``fraction`` of the values at or below."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def scrape(base_url: str) -> dict[str, dict[str, float]]:
    """/metrics as {metric family: {sample name with labels: value}}, every PBX's samples
    added up (the ``pbx`` label left out)."""
    status, text = http_get(f"{base_url}/metrics")
    if status != 200:
        return {}
    metrics: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        samples = metrics.setdefault(family.name, {})
        for sample in family.samples:
            kept = sorted((k, v) for k, v in sample.labels.items() if k != "pbx")
            labels = ",".join(f"{k}={v}" for k, v in kept)
            name = f"{sample.name}{{{labels}}}" if labels else sample.name
            samples[name] = samples.get(name, 0.0) + sample.value
    return metrics


async def watch_backlog(base_url: str, peaks: list[float]) -> None:
    """The record writer's backlog, every few seconds, as Prometheus would see it."""
    while True:
        await asyncio.sleep(BACKLOG_EVERY)
        metrics = await asyncio.to_thread(scrape, base_url)
        backlog = metrics.get("callassist_record_backlog", {}).get("callassist_record_backlog")
        if backlog is not None:
            peaks.append(backlog)


@dataclass(frozen=True, slots=True)
class Result:
    tally: Tally
    window: Window
    cpu: dict[str, float]  # share of one core in the window, per process
    backlog: list[float]  # record writer backlog samples in the window
    metrics: dict[str, dict[str, float]]  # /metrics after the window, consoles connected


@dataclass(frozen=True, slots=True)
class Processes:
    services: list[int]
    simulator: int

    def cpu(self) -> dict[str, float]:
        return {
            "service": sum(cpu_seconds(pid) for pid in self.services),
            "simulator": cpu_seconds(self.simulator),
            "consoles": own_cpu_seconds(),
            "machine": machine_cpu_seconds(),
        }


async def measure(
    args: argparse.Namespace,
    pipe: Connection,
    base_urls: list[str],
    tokens: list[str],
    processes: Processes,
) -> Result:
    """Connect, warm up, count a window; the first instance owns the PBX."""
    base_url = base_urls[0]
    consoles = Consoles([url.replace("http://", "ws://") for url in base_urls], tokens)
    await consoles.open(timeout=120)
    print(f"consoles: {len(tokens)} connected, snapshots taken", flush=True)
    await asyncio.to_thread(pipe.send, "start")
    await asyncio.sleep(args.warmup)
    backlog: list[float] = []
    watcher = asyncio.create_task(watch_backlog(base_url, backlog))
    before = await asyncio.to_thread(simulated_pbx.placed, pipe)
    cpu_before = processes.cpu()
    await asyncio.sleep(args.seconds)
    after = await asyncio.to_thread(simulated_pbx.placed, pipe)
    cpu_after = processes.cpu()
    await asyncio.sleep(GRACE)
    watcher.cancel()
    metrics = await asyncio.to_thread(scrape, base_url)
    await consoles.close()
    window = Window(
        before.at,
        after.at,
        after.calls - before.calls,
        after.no_agent_free - before.no_agent_free,
    )
    print(f"calls in progress at the end of the window: {after.playing}", flush=True)
    shares = {name: (cpu_after[name] - cpu_before[name]) / window.seconds for name in cpu_after}
    return Result(consoles.tally, window, shares, backlog, metrics)


# -- reporting ----------------------------------------------------------------------------


def milliseconds(values: list[float]) -> str:
    ordered = sorted(values)
    figures = [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)]
    parts = [f"{name} {percentile(ordered, q) * 1000:6.1f}" for name, q in figures]
    return "  ".join([*parts, f"max {ordered[-1] * 1000:6.1f}" if ordered else "max -"])


def report(args: argparse.Namespace, result: Result) -> None:
    tally, window, cpu, backlog = result.tally, result.window, result.cpu, result.backlog
    inside: list[PopSeen] = [p for p in tally.pops if window.start <= p.received_at < window.end]
    resent = [at for at in tally.resent if window.start <= at < window.end]
    lag = [late for at, late in tally.lag if window.start <= at < window.end]
    print(f"calls placed:  {window.calls:,} in {window.seconds:.1f} s = "
          f"{window.calls / window.seconds:.1f} calls/s (asked for {args.rate:g}); "
          f"{window.no_agent_free:,} found every agent busy")
    print(f"pops received: {len(inside):,} ({len(inside) / window.seconds:.1f}/s; "
          f"{sum(p.kind == 'call.ringing' for p in inside):,} ringing, "
          f"{sum(p.kind == 'call.answered' for p in inside):,} answered), "
          f"re-sent copies {len(resent)}; whole run: repeats ignored {tally.repeats}, "
          f"reconnects {tally.reconnects}")
    print(f"latency, AMI frame read -> pop at the console (ms): "
          f"{milliseconds([p.latency for p in inside])}")
    print(f"consoles' own loop lag (ms):                         {milliseconds(lag)}")
    ours = cpu["service"] + cpu["simulator"] + cpu["consoles"]
    services = "service" if args.instances == 1 else f"{args.instances} services"
    print(f"CPU in the window (share of one core): {services} {cpu['service']:.0%}, "
          f"simulator {cpu['simulator']:.0%}, consoles {cpu['consoles']:.0%}; "
          f"other processes on the machine {max(0.0, cpu['machine'] - ours):.0%}")
    if cpu["machine"] - ours > BUSY_MACHINE:
        print("warning: other processes kept the machine busy: the figures are not the "
              "service's alone (run it again on a quiet machine)")
    print(f"record writer backlog every {BACKLOG_EVERY:g} s: "
          f"max {max(backlog, default=0):.0f}, at the end {backlog[-1] if backlog else 0:.0f}")
    print_service_metrics(result.metrics)


SERVICE_FIGURES = (
    ("callassist_pops_delivered", "callassist_pops_delivered_total"),
    ("callassist_pops_missed", "callassist_pops_missed_total"),
    ("callassist_pops_resent", "callassist_pops_resent_total"),
    ("callassist_record_backlog", "callassist_record_backlog"),
    ("callassist_websocket_clients", "callassist_websocket_clients"),
)


def print_service_metrics(metrics: dict[str, dict[str, float]]) -> None:
    print("the owner's /metrics after the window (counters since the start, warm-up included):")
    figures = [
        f"{family} {metrics.get(family, {}).get(sample, float('nan')):.0f}"
        for family, sample in SERVICE_FIGURES
    ]
    print(f"  {'  '.join(figures[:3])}")
    print(f"  {'  '.join(figures[3:])}")
    latency = metrics.get("callassist_pop_latency_seconds", {})
    count = latency.get("callassist_pop_latency_seconds_count", 0.0)
    buckets = [
        (float(name.split("le=")[1].rstrip("}")), seen)
        for name, seen in latency.items()
        if name.startswith("callassist_pop_latency_seconds_bucket")
    ]
    shares = "  ".join(
        f"<={bound * 1000:g}ms {seen / count:.1%}"
        for bound, seen in sorted(buckets)
        if bound <= 0.25 and count
    )
    print(f"  callassist_pop_latency_seconds (frame read to ack back), {count:.0f} pops:")
    print(f"    {shares}")


# -- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500, help="agent consoles and phones")
    parser.add_argument("--rate", type=float, default=50.0, help="calls placed per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--warmup", type=float, default=30.0, help="arrivals before the window")
    parser.add_argument("--speed", type=float, default=1.0, help="1: calls at recorded pace")
    parser.add_argument("--database", default="sqlite", help="sqlite, or a postgresql:// URL")
    parser.add_argument("--instances", type=int, default=1, help="callassist serve processes")
    parser.add_argument("--redis", default=None, help="redis:// URL (with --instances > 1)")
    args = parser.parse_args()
    if args.speed <= 0 or args.rate <= 0 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--speed, --rate and --seconds must be positive, --warmup 0 or more")
    if args.instances < 1:
        parser.error("--instances must be 1 or more")
    if args.instances > 1 and (args.redis is None or args.database == "sqlite"):
        parser.error("--instances > 1 needs --redis and a postgresql:// --database")
    endpoints = agent_endpoints(args.agents)

    with tempfile.TemporaryDirectory(prefix="screenpop-") as workdir:
        database_url = (
            f"sqlite:///{workdir}/callassist.db" if args.database == "sqlite" else args.database
        )
        secret_key = secrets.token_urlsafe(48)
        upgrade_schema(database_url)
        usernames = agent_users(database_url, endpoints)
        signer = TokenSigner(secret_key, minutes=120)
        tokens = [signer.issue(username, "agent") for username in usernames]
        backend = "sqlite" if args.database == "sqlite" else "postgresql"
        print(f"screen pops: {args.agents} agents, {args.rate:g} calls/s for {args.seconds:g} s "
              f"after a {args.warmup:g} s warm-up, speed {args.speed:g}, {backend}, "
              f"{args.instances} instance(s){' and Redis' if args.redis else ''}")
        print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
              f"python {sys.version.split()[0]}", flush=True)

        with pbx_process(endpoints, args.rate, args.speed) as (pipe, ami_port, pbx_pid):
            env = service_env(database_url, secret_key, ami_port, args.redis)
            with contextlib.ExitStack() as services:
                base_urls, pids = [], []
                for number in range(args.instances):  # one at a time: the first owns the PBX
                    http_port = free_port()
                    base_urls.append(f"http://127.0.0.1:{http_port}")
                    named = {**env, "CALLASSIST_INSTANCE_NAME": f"screenpop-{number + 1}"}
                    log = Path(workdir) / f"service-{number + 1}.log"
                    pids.append(services.enter_context(service_process(named, http_port, log)))
                processes = Processes(pids, pbx_pid)
                result = asyncio.run(measure(args, pipe, base_urls, tokens, processes))
        report(args, result)


if __name__ == "__main__":
    main()
