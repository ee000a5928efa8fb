"""The line probe against a real SIP peer: sipp on loopback plays the PBX (registrar with
digest authentication, and the probe extension), from the scenarios in tests/fixtures/sipp/.

Each scenario also checks the probe's side of the dialogue: sipp logs an error when a message
it expects (the ACK for a 486, the CANCEL of an unanswered call) does not come.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from telephony.probe import ProbeConfig, ProbeResult, probe, run_probe
from telephony.simulator.server import AmiServer
from tests.service.conftest import TEST_DATABASE, throwaway_postgres
from tests.service.harness import AMI_SECRET, AMI_USER, prepare_database, running_service

SIPP = shutil.which("sipp")
pytestmark = pytest.mark.skipif(
    SIPP is None, reason="sipp is not installed (Debian package sip-tester; see tests/needs.sh)"
)

SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "sipp"
USER = "callassist-probe"
PASSWORD = "Probe-Secret-9f3k"
EXTENSION = "*77"
SCRIPT = Path(sys.executable).parent / "callassist"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]
PYVOIP_THREADS = ("SIP Recieve", "SIP Register", "RTP Receiver", "RTP Transmitter", "Phone Call")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def freed(port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while not port_is_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


pbx_processes: dict[int, subprocess.Popen[bytes]] = {}  # by port: the test may stop one


@dataclass
class Pbx:
    port: int
    workdir: Path

    def errors(self) -> str:
        """What sipp found wrong in the dialogues (its -trace_err file)."""
        return "".join(p.read_text(errors="replace") for p in self.workdir.glob("*_errors.log"))

    def logs(self) -> str:
        """What the scenario logged of the dialogues (its -trace_logs file)."""
        return "".join(p.read_text(errors="replace") for p in self.workdir.glob("*_logs.log"))

    def received(self, start: str) -> int:
        """How many messages starting so sipp received (its -trace_msg file)."""
        trace = "".join(p.read_text(errors="replace") for p in self.workdir.glob("*_messages.log"))
        return trace.count(f"bytes :\n\n{start}")

    def logged(self, line: str, within: float = 3.0) -> bool:
        """Whether the scenario logs the line soon: sipp writes its log a moment later."""
        deadline = time.monotonic() + within
        while line not in self.logs():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


@pytest.fixture
def start_pbx(tmp_path: Path) -> Iterator[object]:
    processes: list[subprocess.Popen[bytes]] = []
    pbx_processes.clear()

    def start(scenario: str, port: int | None = None) -> Pbx:
        assert SIPP is not None
        port, media = port or free_udp_port(), free_udp_port()
        workdir = tmp_path / f"{scenario}-{len(processes)}"
        workdir.mkdir()
        command = [
            SIPP,
            *("-sf", str(SCENARIOS / f"{scenario}.xml")),
            *("-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media)),
            *("-t", "u1", "-nostdin", "-trace_err", "-trace_logs", "-trace_msg"),
            *("-key", "probe_user", USER, "-key", "probe_password", PASSWORD),
            *("-key", "probe_extension", EXTENSION),
        ]
        with (workdir / "sipp.out").open("wb") as out:
            process = subprocess.Popen(
                command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        processes.append(process)
        pbx_processes[port] = process
        deadline = time.monotonic() + 5
        while port_is_free(port):
            assert process.poll() is None, (workdir / "sipp.out").read_text(errors="replace")
            assert time.monotonic() < deadline, "sipp did not start listening"
            time.sleep(0.02)
        return Pbx(port, workdir)

    yield start
    for process in processes:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def config(port: int, password: str = PASSWORD, timeout: float = 3.0) -> ProbeConfig:
    return ProbeConfig(
        "127.0.0.1", USER, password, EXTENSION, port=port, local_port=free_udp_port(),
        timeout=timeout,
    )  # fmt: skip


def timed(probe_config: ProbeConfig) -> tuple[ProbeResult, float]:
    started = time.monotonic()
    result = run_probe(probe_config)
    return result, time.monotonic() - started


def assert_nothing_left(probe_config: ProbeConfig) -> None:
    """No pyVoIP thread still running, and the probe's SIP port free for the next probe."""
    left = [t.name for t in threading.enumerate() if t.name.startswith(PYVOIP_THREADS)]
    assert left == []
    assert port_is_free(probe_config.local_port)


def test_probe_registers_calls_and_reports_both_times(start_pbx) -> None:
    pbx = start_pbx("pbx_answers")
    probe_config = config(pbx.port)

    result, took = timed(probe_config)

    print(f"\nregistration {result.registration_seconds}, set-up {result.call_setup_seconds}")
    assert result.result == "answered"
    assert result.ok and result.registered
    assert result.registration_seconds is not None and 0 < result.registration_seconds < 1
    # The scenario answers 200 ms after the INVITE (100, 50 ms, 180, 150 ms, 200 OK).
    assert result.call_setup_seconds is not None and 0.19 < result.call_setup_seconds < 1
    assert took < 5
    assert_nothing_left(probe_config)
    assert pbx.errors() == ""  # ACKed with the 200's To tag, hung up with a BYE
    # The un-REGISTER's 401 (after a stray 200) was answered: no contact left to expire.
    assert pbx.logged("de-registered with credentials, Expires: 0"), pbx.logs()
    assert pbx.logged("ACK with the 200's To tag:;tag=pbx-answers-"), pbx.logs()
    assert pbx.received("ACK sip:") == 2  # the 200, and the copy the PBX sent at once


def test_a_refused_registration_is_reported_with_its_code(start_pbx) -> None:
    pbx = start_pbx("pbx_answers")  # its registrar checks the digest: 403 for a wrong one
    probe_config = config(pbx.port, password="not-the-password")

    result, took = timed(probe_config)

    assert result.result == "registration failed: 403"
    assert not result.ok and not result.registered
    assert result.registration_seconds is None and result.call_setup_seconds is None
    assert result.detail is not None and "403 Forbidden" in result.detail
    assert took < 2
    assert_nothing_left(probe_config)


def test_a_busy_extension_is_reported_busy_at_once(start_pbx) -> None:
    pbx = start_pbx("pbx_busy")
    probe_config = config(pbx.port, timeout=5.0)

    result, took = timed(probe_config)

    assert result.result == "busy"
    assert result.detail == "486 Busy Here"
    assert result.registered and not result.ok
    assert result.call_setup_seconds is None
    assert took < 4  # not the 5 s a library that ignores 486 would wait
    assert_nothing_left(probe_config)
    assert pbx.errors() == ""  # the 486 was ACKed


def test_an_unanswered_call_is_cancelled_after_the_timeout(start_pbx) -> None:
    pbx = start_pbx("pbx_rings")
    probe_config = config(pbx.port, timeout=1.5)

    result, took = timed(probe_config)

    assert result.result == "no answer in 1.5 s"
    assert result.detail == "it rang"
    assert result.registered and not result.ok
    assert took < 1.05 + 1.5 + 3
    assert_nothing_left(probe_config)
    assert pbx.errors() == ""  # CANCEL sent, 487 ACKed


def test_nothing_listening_is_a_timeout_within_the_hard_timeout() -> None:
    probe_config = config(free_udp_port(), timeout=1.5)

    result, took = timed(probe_config)

    assert result.result == "timeout"
    assert not result.registered and not result.ok
    assert took < 1.5 + 1
    assert_nothing_left(probe_config)


@pytest.mark.asyncio
async def test_a_hung_probe_does_not_hold_the_service() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes the REGISTER, never answers
    silent.bind(("127.0.0.1", 0))
    probe_config = config(silent.getsockname()[1], timeout=2.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        result = await probe(probe_config, deadline=0.5)
    finally:
        ticking.cancel()
    took = time.monotonic() - started

    assert result.result == "timeout" and not result.ok
    assert took < 0.8  # the outer deadline, not the probe's own 2 s
    assert ticks > 20  # the event loop kept running meanwhile
    # The probe thread still ends by itself, and lets its socket go.
    assert await asyncio.to_thread(freed, probe_config.local_port, probe_config.budget)
    silent.close()


def linecheck(port: int, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLASSIST_")}
    env.update(
        {
            "CALLASSIST_PROBE_SERVER": f"127.0.0.1:{port}",
            "CALLASSIST_PROBE_USERNAME": USER,
            "CALLASSIST_PROBE_PASSWORD": PASSWORD,
            "CALLASSIST_PROBE_EXTENSION": EXTENSION,
            "CALLASSIST_PROBE_LOCAL_PORT": str(free_udp_port()),
            "CALLASSIST_PROBE_TIMEOUT_SECONDS": "3",
        }
    )
    env.update({f"CALLASSIST_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run(
        [*COMMAND, "linecheck", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_linecheck_prints_the_times_and_exits_0_when_answered(start_pbx) -> None:
    pbx = start_pbx("pbx_answers")

    done = linecheck(pbx.port)

    assert done.returncode == 0, done.stderr
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines()[1:])
    assert lines["result"].strip() == "answered"
    assert lines["registration"].strip().endswith(" s")
    assert 0.19 < float(lines["call set-up"].split()[0]) < 1
    assert PASSWORD not in done.stdout + done.stderr


def test_linecheck_json_reports_a_busy_extension_and_exits_1(start_pbx) -> None:
    pbx = start_pbx("pbx_busy")

    done = linecheck(pbx.port, "--json")

    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["result"] == "busy" and report["ok"] is False and report["registered"] is True
    assert report["server"] == f"127.0.0.1:{pbx.port}" and report["extension"] == EXTENSION
    assert isinstance(report["registration_seconds"], float)
    assert report["call_setup_seconds"] is None


def test_linecheck_without_a_server_is_a_settings_error() -> None:
    done = linecheck(5060, PROBE_SERVER="")

    assert done.returncode == 2
    assert "CALLASSIST_PROBE_SERVER" in done.stderr
    assert done.stdout == ""


@pytest.fixture(params=["sqlite", "postgresql"])
def service_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """As tests/service/conftest.py's database_url: SQLite, and PostgreSQL when there is one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/callassist.db"
        prepare_database(url)
        yield url
        return
    server = os.environ.get(TEST_DATABASE)
    if not server:
        pytest.skip(f"{TEST_DATABASE} is not set: no PostgreSQL to test on (.ci/run sets it)")
    with throwaway_postgres(server) as url:
        prepare_database(url)
        yield url


@pytest_asyncio.fixture
async def ami() -> AsyncIterator[AmiServer]:
    server = AmiServer(username=AMI_USER, secret=AMI_SECRET)
    await server.start()
    yield server
    await server.close()


@pytest.mark.asyncio
async def test_the_service_opens_a_probe_incident_and_marks_it_recovered(
    start_pbx, service_database: str, ami: AmiServer
) -> None:
    sip = start_pbx("pbx_busy")
    probe_settings = {
        "probe_server": f"127.0.0.1:{sip.port}",
        "probe_username": USER,
        "probe_password": PASSWORD,
        "probe_extension": EXTENSION,
        "probe_local_port": free_udp_port(),
        "probe_timeout_seconds": 2,
        "probe_interval_minutes": 0.02,  # every 1.2 s
    }
    async with running_service(service_database, ami, **probe_settings) as service:

        async def probe_incidents() -> list[dict[str, object]]:
            reply = await service.get("/api/incidents", "it", status="all")
            reply.raise_for_status()
            return [i for i in reply.json()["items"] if i["kind"] == "probe_failed"]

        found = await poll(probe_incidents)
        assert len(found) == 1
        incident = found[0]
        assert incident["location"] == f"probe:{EXTENSION}"
        assert incident["level"] == "II"
        assert "busy" in str(incident["summary"])
        assert incident["recovered_at"] is None

        # The extension answers again: the next scheduled check clears the incident.
        await asyncio.to_thread(stop, pbx_processes[sip.port])
        start_pbx("pbx_answers", port=sip.port)

        async def recovered() -> list[dict[str, object]]:
            return [i for i in await probe_incidents() if i["recovered_at"] is not None]

        found = await poll(recovered)
        assert [i["id"] for i in found] == [incident["id"]]  # the same incident, not a new one


async def poll(
    fetch: Callable[[], Awaitable[list[dict[str, object]]]], within: float = 20.0
) -> list[dict[str, object]]:
    deadline = time.monotonic() + within
    while not (found := await fetch()):
        assert time.monotonic() < deadline, "nothing in time"
        await asyncio.sleep(0.2)
    return found
