"""The `callassist` command as an operator runs it: a real process, its exit code, its output."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect
from websockets.sync.client import connect

from app.auth.store import authenticate
from app.db.engine import Database
from tests.service.conftest import TEST_DATABASE, throwaway_postgres
from tests.service.harness import free_port

SCRIPT = Path(sys.executable).parent / "callassist"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]
GOOD_KEY = "cli-test-secret-key-0123456789-abcdefghijklmnop"
AMI_SECRET = "Ami-Secret-Never-Echoed"
AMI_URL = f"ami://callassist:{AMI_SECRET}@127.0.0.1:5038"
USER_PASSWORD = "Cli-User-Password-42"
TABLES = {
    "alembic_version",
    "users",
    "calls",
    "call_parties",
    "call_events",
    "complaints",
    "callbacks",
    "incidents",
    "incident_events",
    "call_script_sessions",
}


def environment(**values: str) -> dict[str, str]:
    """This process's environment minus every CALLASSIST_ setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLASSIST_")}
    env.update({f"CALLASSIST_{name.upper()}": value for name, value in values.items()})
    return env


def callassist(
    *args: str, env: dict[str, str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_together(
    invocations: dict[str, tuple[list[str], str]], env: dict[str, str]
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Independent invocations at once (each process spends a second importing)."""
    with ThreadPoolExecutor(max_workers=len(invocations)) as pool:
        futures = {
            name: pool.submit(callassist, *args, env=env, stdin=stdin)
            for name, (args, stdin) in invocations.items()
        }
        return {name: future.result() for name, future in futures.items()}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Exit code 2 and exactly one line on stderr (no stack trace); that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    return lines[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for the command to work on (no schema yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cli.db"
        return
    server = os.environ.get(TEST_DATABASE)
    if not server:
        pytest.skip(f"{TEST_DATABASE} is not set: no PostgreSQL to test on (.ci/run sets it)")
    with throwaway_postgres(server) as url:
        yield url


def tables_in(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- db upgrade ------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_may_run_again(cli_database_url: str) -> None:
    env = environment(database_url=cli_database_url)
    assert tables_in(cli_database_url) == set()
    first = callassist("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert tables_in(cli_database_url) >= TABLES
    again = callassist("db", "upgrade", env=env)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    assert tables_in(cli_database_url) >= TABLES


# -- user add --------------------------------------------------------------------------------


def test_user_add_reads_the_password_from_stdin_and_the_user_can_log_in(
    cli_database_url: str,
) -> None:
    env = environment(database_url=cli_database_url)
    result = callassist(
        "user",
        "add",
        "alice",
        "--role",
        "agent",
        "--endpoint",
        "PJSIP/1001",
        "--password-stdin",
        env=env,
        stdin=USER_PASSWORD + "\r\n",
    )
    assert result.returncode == 0, result.stderr
    assert "alice" in result.stdout
    assert USER_PASSWORD not in result.stdout + result.stderr

    database = Database(cli_database_url)
    try:
        with database.session() as session:
            user = authenticate(session, "alice", USER_PASSWORD)
            assert user is not None, "the password stored is not the one given on stdin"
            assert (user.role, user.endpoint, user.active) == ("agent", "PJSIP/1001", True)
            assert authenticate(session, "alice", USER_PASSWORD + "\r") is None
    finally:
        database.dispose()


def test_user_add_refuses_bad_requests_with_one_line_and_exit_2(cli_database_url: str) -> None:
    env = environment(database_url=cli_database_url)
    added = callassist(
        "user", "add", "bob", "--role", "qa", "--password-stdin", env=env, stdin=USER_PASSWORD
    )
    assert added.returncode == 0, added.stderr

    refusals = {
        "a duplicate name": (["bob", "--role", "qa"], USER_PASSWORD + "\n"),
        "an agent without a phone": (["carol", "--role", "agent"], USER_PASSWORD + "\n"),
        "a short password": (["dave", "--role", "qa"], "short\n"),
        "no password": (["erin", "--role", "qa"], ""),
    }
    results = run_together(
        {
            why: (["user", "add", *args, "--password-stdin"], stdin)
            for why, (args, stdin) in refusals.items()
        },
        env,
    )
    for why, result in results.items():
        line = one_error_line(result)
        assert line.startswith("callassist user add: error:"), (why, line)
        assert USER_PASSWORD not in result.stdout + result.stderr, why
    duplicate_phone = callassist(
        "user",
        "add",
        "frank",
        "--role",
        "agent",
        "--endpoint",
        "PJSIP/1001",
        "--password-stdin",
        env=env,
        stdin=USER_PASSWORD,
    )
    assert duplicate_phone.returncode == 0, duplicate_phone.stderr
    second_on_phone = callassist(
        "user",
        "add",
        "grace",
        "--role",
        "agent",
        "--endpoint",
        "PJSIP/1001",
        "--password-stdin",
        env=env,
        stdin=USER_PASSWORD,
    )
    one_error_line(second_on_phone)

    no_flag = callassist("user", "add", "heidi", "--role", "qa", env=env, stdin=USER_PASSWORD)
    assert no_flag.returncode == 2
    assert "--password-stdin" in no_flag.stderr
    assert USER_PASSWORD not in no_flag.stdout + no_flag.stderr

    database = Database(cli_database_url)
    try:
        with database.session() as session:
            assert authenticate(session, "bob", USER_PASSWORD) is not None
            for name in ("carol", "dave", "erin", "grace", "heidi"):
                assert authenticate(session, name, USER_PASSWORD) is None, name
    finally:
        database.dispose()


# -- user list, disable, enable, set-password ------------------------------------------------


def test_user_list_disable_enable_and_set_password_as_an_operator_runs_them(
    cli_database_url: str,
) -> None:
    env = environment(database_url=cli_database_url)
    for name, role in (("ivan", "qa"), ("judy", "supervisor")):
        added = callassist(
            "user", "add", name, "--role", role, "--password-stdin", env=env, stdin=USER_PASSWORD
        )
        assert added.returncode == 0, added.stderr

    disabled = callassist("user", "disable", "ivan", env=env)
    assert disabled.returncode == 0 and "ivan is disabled" in disabled.stdout, disabled.stderr
    listed = callassist("user", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows == [
        ["username", "role", "endpoint", "login"],
        ["ivan", "qa", "-", "disabled"],
        ["judy", "supervisor", "-", "enabled"],
    ]
    new_password = "Judy-New-Password-7"
    changed = callassist(
        "user", "set-password", "judy", "--password-stdin", env=env, stdin=new_password + "\r\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert new_password not in changed.stdout + changed.stderr
    enabled = callassist("user", "enable", "ivan", env=env)
    assert enabled.returncode == 0 and "ivan is enabled" in enabled.stdout, enabled.stderr

    database = Database(cli_database_url)
    try:
        with database.session() as session:
            assert authenticate(session, "ivan", USER_PASSWORD) is not None
            assert authenticate(session, "judy", USER_PASSWORD) is None
            judy = authenticate(session, "judy", new_password)
            assert judy is not None and judy.token_generation == 1, "old tokens still valid"
    finally:
        database.dispose()


def test_user_changes_refuse_bad_requests_with_one_line_and_exit_2(
    cli_database_url: str,
) -> None:
    env = environment(database_url=cli_database_url)
    added = callassist(
        "user", "add", "kim", "--role", "qa", "--password-stdin", env=env, stdin=USER_PASSWORD
    )
    assert added.returncode == 0, added.stderr
    refusals = {
        "disable nobody": (["user", "disable", "nobody"], ""),
        "enable nobody": (["user", "enable", "nobody"], ""),
        "a password for nobody": (["user", "set-password", "nobody", "--password-stdin"], ""),
        "a short password": (["user", "set-password", "kim", "--password-stdin"], "short\n"),
        "no password": (["user", "set-password", "kim", "--password-stdin"], ""),
    }
    for why, result in run_together(refusals, env).items():
        line = one_error_line(result)
        action = refusals[why][0][1]
        assert line.startswith(f"callassist user {action}: error:"), (why, line)
    for args in (["user", "disable"], ["user", "set-password", "kim"], ["user", "frobnicate"]):
        assert callassist(*args, env=env, stdin=USER_PASSWORD).returncode == 2, args
    database = Database(cli_database_url)
    try:
        with database.session() as session:
            assert authenticate(session, "kim", USER_PASSWORD) is not None
    finally:
        database.dispose()


def test_help_loads_neither_the_web_framework_nor_the_database_libraries() -> None:
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'pwdlib') if m in sys.modules]\n"
        "print('LOADED', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


# -- serve: settings checked before anything starts ------------------------------------------


def test_serve_without_a_secret_key_names_the_variable(tmp_path: Path) -> None:
    env = environment(database_url=f"sqlite:///{tmp_path}/s.db", ami_url=AMI_URL)
    line = one_error_line(callassist("serve", "--port", str(free_port()), env=env))
    assert "CALLASSIST_SECRET_KEY" in line
    assert AMI_SECRET not in line


@pytest.mark.parametrize("placeholder", ["changeme", "CHANGEME", "password", "too-short-key"])
def test_serve_refuses_a_placeholder_secret_key_without_echoing_it(
    tmp_path: Path, placeholder: str
) -> None:
    env = environment(
        database_url=f"sqlite:///{tmp_path}/s.db", ami_url=AMI_URL, secret_key=placeholder
    )
    result = callassist("serve", "--port", str(free_port()), env=env)
    line = one_error_line(result)
    assert "CALLASSIST_SECRET_KEY" in line
    assert placeholder not in result.stdout + result.stderr
    assert AMI_SECRET not in result.stdout + result.stderr


def test_serve_without_an_ami_url_names_the_variable(tmp_path: Path) -> None:
    env = environment(database_url=f"sqlite:///{tmp_path}/s.db", secret_key=GOOD_KEY)
    result = callassist("serve", "--port", str(free_port()), env=env)
    assert "CALLASSIST_AMI_URL" in one_error_line(result)
    assert GOOD_KEY not in result.stdout + result.stderr


def test_serve_with_an_unknown_database_url_echoes_no_secret(tmp_path: Path) -> None:
    env = environment(
        database_url="mysql://root:Db-Password-Not-Shown@db.example/callassist",
        ami_url=AMI_URL,
        secret_key=GOOD_KEY,
    )
    result = callassist("serve", "--port", str(free_port()), env=env)
    assert "CALLASSIST_DATABASE_URL" in one_error_line(result)
    output = result.stdout + result.stderr
    for secret in (AMI_SECRET, GOOD_KEY, "Db-Password-Not-Shown"):
        assert secret not in output


@pytest.mark.parametrize(
    "ami_url",
    [
        f"http://callassist:{AMI_SECRET}@pbx.example:5038",
        f"ami://callassist:{AMI_SECRET}@pbx.example:port",
        "ami://pbx.example:5038",
    ],
    ids=["not ami://", "bad port", "no user"],
)
def test_serve_with_a_malformed_ami_url_names_it_in_one_line(tmp_path: Path, ami_url: str) -> None:
    env = environment(
        database_url=f"sqlite:///{tmp_path}/s.db", ami_url=ami_url, secret_key=GOOD_KEY
    )
    result = callassist("serve", "--port", str(free_port()), env=env)
    assert "CALLASSIST_AMI_URL" in one_error_line(result)
    assert AMI_SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"]], ids=["serve", "db upgrade"])
def test_a_database_that_cannot_be_reached_is_one_line_naming_it(
    tmp_path: Path, command: list[str]
) -> None:
    url = f"postgresql://callassist:Db-Password-Not-Shown@127.0.0.1:{free_port()}/callassist"
    env = environment(database_url=url, ami_url=AMI_URL, secret_key=GOOD_KEY)
    args = [*command, "--port", str(free_port())] if command == ["serve"] else command
    result = callassist(*args, env=env, cwd=tmp_path)
    assert "CALLASSIST_DATABASE_URL" in one_error_line(result)
    for secret in (AMI_SECRET, GOOD_KEY, "Db-Password-Not-Shown"):
        assert secret not in result.stdout + result.stderr


# -- demo ------------------------------------------------------------------------------------

DEMO_LOGINS = re.compile(r"^\s+(agent1|agent2|qa|it|supervisor|admin)\s+(\S+)\s+(\w+)")


def read_lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)
    into.put("")  # the end


def demo_passwords(lines: queue.Queue[str], limit: float) -> dict[str, str]:
    passwords: dict[str, str] = {}
    deadline = time.monotonic() + limit
    while len(passwords) < 6:
        line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        assert line, f"the demo's output ended before all its users: {passwords}"
        if found := DEMO_LOGINS.match(line):
            passwords[found[1]] = found[2]
    return passwords


def wait_ready(base: str, demo: subprocess.Popen[str], limit: float) -> None:
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        assert demo.poll() is None, f"the demo exited with {demo.returncode}"
        try:
            last = httpx.get(base + "/readyz", timeout=2)
            if last.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"/readyz not 200 within {limit} s: {last and last.text}")


def log_in(base: str, username: str, password: str) -> str:
    reply = httpx.post(
        base + "/api/auth/token", data={"username": username, "password": password}, timeout=10
    )
    assert reply.status_code == 200, (username, reply.text)
    token: str = reply.json()["access_token"]
    return token


@pytest.mark.timeout(240)
def test_the_demo_runs_calls_with_no_pbx_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    errors = (tmp_path / "demo.stderr").open("w")
    demo = subprocess.Popen(
        [*COMMAND, "demo", "--port", str(port)],
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(demo.stdout, lines), daemon=True)
    reader.start()
    tokens: list[str] = []
    try:
        passwords = demo_passwords(lines, limit=60)
        wait_ready(base, demo, limit=60)
        assert (tmp_path / "callassist-demo.db").exists(), "the demo database is not in cwd"
        agent_token = log_in(base, "agent1", passwords["agent1"])
        tokens.append(agent_token)
        qa_token = log_in(base, "qa", passwords["qa"])

        with connect(f"ws://127.0.0.1:{port}/ws?token={agent_token}") as ws:
            snapshot = json.loads(ws.recv(timeout=10))
            assert snapshot["type"] == "snapshot"
            evidence = None
            deadline = time.monotonic() + 90
            while evidence is None and time.monotonic() < deadline:
                with_call = qa_calls(base, qa_token)
                if with_call:
                    evidence = f"QA sees {with_call}"
                    break
                try:
                    message = json.loads(ws.recv(timeout=1))
                except TimeoutError:
                    continue
                if message["type"] in ("call.ringing", "call.answered"):
                    evidence = f"agent1 got {message['type']}"
            assert evidence, "no demo call within 90 s"

            demo.send_signal(signal.SIGINT)  # Ctrl-C, with a browser still attached
            code = demo.wait(timeout=15)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        reader.join(timeout=5)
        assert demo.stdout is not None
        demo.stdout.close()
        errors.close()
    stderr = (tmp_path / "demo.stderr").read_text()
    assert "/ws?token=***" in stderr, "the WebSocket request line is not logged masked"
    assert not any(token in stderr for token in tokens), "a login token is in the log"
    assert "Traceback" not in stderr, f"Ctrl-C left a stack trace:\n{stderr[-3000:]}"
    assert code in (0, -signal.SIGINT), f"the demo exited with {code}"


def qa_calls(base: str, token: str) -> int:
    reply = httpx.get(base + "/api/calls", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    total: int = reply.json()["total"]
    return total
