"""The ``callassist`` command."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

# Each command imports what it needs when it runs: `callassist --help` and `replay` do not
# pay for FastAPI, the database libraries or Argon2.
if TYPE_CHECKING:
    from app.db.engine import Database
    from app.db.tables import User
    from app.settings import Settings
    from telephony.calls.model import CallRecord
    from telephony.replay import ReplayResult

PROG = "callassist"
ROLES = ("agent", "qa", "it", "supervisor", "admin")  # app.auth.store.Role's values


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Call-handling assistant for Asterisk call centres."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_serving(commands)
    _add_db(commands)
    _add_user(commands)
    _add_replay(commands)
    _add_linecheck(commands)
    return parser


def _add_serving(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, run, summary in (
        ("serve", _run_serve, "attach to the PBX in CALLASSIST_AMI_URL and serve the API"),
        ("demo", _run_demo, "serve with a built-in simulated PBX and demo users (no PBX needed)"),
    ):
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument("--host", default="127.0.0.1", help="address to listen on")
        command.add_argument("--port", type=int, default=8000, help="port to listen on")
        command.set_defaults(run=run)


def _add_db(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database schema").add_subparsers(
        required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply the schema migrations").set_defaults(run=_run_db_upgrade)


def _add_user(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("user", help="users and roles").add_subparsers(
        required=True, metavar="ACTION"
    )
    add = users.add_parser("add", help="add a user (the password is read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--endpoint", help="an agent's phone, e.g. PJSIP/1001")
    add.add_argument(
        "--pbx", default="default", help="the PBX the agent's phone is on (CALLASSIST_PBXES)"
    )
    add.add_argument("--display-name", help="the name the console and greeting use")
    add.add_argument("--position", help="said in the greeting, e.g. 'customer service agent'")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from one line of standard input",
    )
    add.set_defaults(run=_run_user_add)
    users.add_parser("list", help="every user: role, phone, enabled or not").set_defaults(
        run=_run_user_list
    )
    for action, run, summary in (
        ("disable", _run_user_disable, "disable a login; its tokens and live updates end"),
        ("enable", _run_user_enable, "enable a login again (its old tokens stay ended)"),
    ):
        command = users.add_parser(action, help=summary, description=summary)
        command.add_argument("name")
        command.set_defaults(run=run)
    summary = "set a user's password (read from stdin); their tokens and live updates end"
    password = users.add_parser("set-password", help=summary, description=summary)
    password.add_argument("name")
    password.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from one line of standard input",
    )
    password.set_defaults(run=_run_user_set_password)


def _add_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay_cmd = commands.add_parser(
        "replay",
        help="replay a recorded AMI stream: the calls and line faults it holds",
        description=(
            "Feed a recorded AMI stream (NAME.ami, with NAME.times.tsv beside it when there is "
            "one) through the call tracker and the outcome classifier. No PBX, no database."
        ),
    )
    replay_cmd.add_argument("file", type=Path, metavar="FILE.ami")
    replay_cmd.add_argument(
        "--json", action="store_true", help="one JSON object per line (calls, then faults)"
    )
    replay_cmd.add_argument(
        "--trunks",
        default=os.environ.get("CALLASSIST_TRUNKS", ""),
        metavar="PATTERNS",
        help="comma-separated trunk endpoints, shell-style wildcards (PJSIP/2001,PJSIP/carrier-*);"
        " default $CALLASSIST_TRUNKS; without it, roles are inferred",
    )
    replay_cmd.set_defaults(run=_run_replay)


def _add_linecheck(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    linecheck = commands.add_parser(
        "linecheck",
        help="register the probe account on the PBX and call the probe extension",
        description=(
            "Register the test account (CALLASSIST_PROBE_*) on the PBX and place a short call"
            " to the probe extension: prints the registration time, the call set-up time and"
            " the result. Exit status 0 answered, 1 failed, 2 bad settings."
        ),
    )
    linecheck.add_argument("--json", action="store_true", help="one JSON object")
    linecheck.set_defaults(run=_run_linecheck)


def _settings(command: str, **overrides: object) -> Settings | None:
    """Settings from the environment; errors named without echoing any value (secrets)."""
    from pydantic import ValidationError  # noqa: PLC0415

    from app.settings import Settings  # noqa: PLC0415

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        for problem in error.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            variable = f"CALLASSIST_{where.upper()}" if problem["loc"] else where
            print(f"{PROG} {command}: error: {variable}: {problem['msg']}", file=sys.stderr)
        return None


def _run_serve(args: argparse.Namespace) -> int:
    settings = _settings("serve")
    if settings is None:
        return 2
    try:
        settings.check_can_serve()
    except ValueError as error:
        print(f"{PROG} serve: error: {error}", file=sys.stderr)
        return 2
    if not _upgraded("serve", settings):
        return 2
    return _serve(settings, args.host, args.port)


def _run_demo(args: argparse.Namespace) -> int:
    from app.db.engine import Database, display_url  # noqa: PLC0415
    from app.demo.pbx import DEMO_TRUNKS, DEMO_USERS, ensure_demo_users  # noqa: PLC0415

    overrides: dict[str, object] = {"demo": True}
    if "CALLASSIST_DATABASE_URL" not in os.environ:
        overrides["database_url"] = "sqlite:///callassist-demo.db"
    if "CALLASSIST_TRUNKS" not in os.environ:
        overrides["trunks"] = DEMO_TRUNKS
    settings = _settings("demo", **overrides)
    if settings is None or not _upgraded("demo", settings):
        return 2
    database = Database(settings.database_url)
    with database.session() as session:
        passwords = ensure_demo_users(session)
    database.dispose()
    print(f"callassist demo: http://{args.host}:{args.port}  (a simulated PBX makes the calls)")
    print(f"database: {display_url(settings.database_url)}")
    base = f"http://{args.host}:{args.port}"
    print(f"pages: agents {base}/agent/  QA {base}/qa/  IT and supervisors {base}/it/")
    print("log in as (passwords are new at every start):")
    for user in DEMO_USERS:
        print(
            f"  {user.username:<11} {passwords[user.username]:<14} {user.role.value:<11}"
            f" {user.endpoint or ''}"
        )
    sys.stdout.flush()
    return _serve(settings, args.host, args.port)


def _upgraded(command: str, settings: Settings) -> bool:
    """Apply the migrations; a database that cannot be reached is one line, not a traceback."""
    from app.db.engine import DatabaseUnavailable, upgrade  # noqa: PLC0415

    try:
        upgrade(settings.database_url)
    except DatabaseUnavailable as error:
        print(f"{PROG} {command}: error: CALLASSIST_DATABASE_URL: {error}", file=sys.stderr)
        return False
    return True


def _serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn  # noqa: PLC0415

    from app.logs import configure as configure_logging  # noqa: PLC0415
    from app.main import create_app  # noqa: PLC0415

    configure_logging()
    # No permessage-deflate: the live messages are small JSON, each compressed once per
    # socket; with thousands of consoles that was the costliest step of a pop on the owner
    # (bench/screenpop.py), for bandwidth a call centre's LAN has plenty of.
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            ws="websockets-sansio",
            ws_per_message_deflate=False,
            log_config=None,
        )
    )
    # uvicorn shuts down cleanly on Ctrl-C, then re-raises it; the shutdown is the answer.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


def _run_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings("db upgrade")
    if settings is None or not _upgraded("db upgrade", settings):
        return 2
    print("database schema is up to date")
    return 0


def _run_user_add(args: argparse.Namespace) -> int:
    from app.auth.store import Role, UserError, add_user  # noqa: PLC0415
    from app.db.engine import Database  # noqa: PLC0415

    settings = _settings("user add")
    if settings is None:
        return 2
    password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not _upgraded("user add", settings):
        return 2
    database = Database(settings.database_url)
    with database.session() as session:
        try:
            user = add_user(
                session,
                args.name,
                Role(args.role),
                password,
                endpoint=args.endpoint,
                display_name=args.display_name,
                position=args.position,
                pbx=args.pbx,
                pbxes=settings.pbx_names,
            )
        except UserError as error:
            print(f"{PROG} user add: error: {error}", file=sys.stderr)
            return 2
    print(f"added {user.role} {user.username}" + (f" on {_phone(user)}" if user.endpoint else ""))
    return 0


def _phone(user: User) -> str:
    """An agent's phone as people name it: PJSIP/1001, or PJSIP/1001 on PBX south."""
    if not user.endpoint:
        return "-"
    return user.endpoint if user.pbx == "default" else f"{user.endpoint} on PBX {user.pbx}"


def _user_database(command: str) -> Database | None:
    """The upgraded database for a `user` command, or None (one error line printed)."""
    from app.db.engine import Database  # noqa: PLC0415

    settings = _settings(command)
    if settings is None or not _upgraded(command, settings):
        return None
    return Database(settings.database_url)


def _run_user_list(args: argparse.Namespace) -> int:
    from app.auth.store import list_users  # noqa: PLC0415

    database = _user_database("user list")
    if database is None:
        return 2
    with database.session() as session:
        rows = [
            (u.username, u.role, _phone(u), "enabled" if u.active else "disabled")
            for u in list_users(session)
        ]
    database.dispose()
    widths = [
        max([len(head), *(len(row[i]) for row in rows)])
        for i, head in enumerate(("username", "role", "endpoint", "login"))
    ]
    for row in [("username", "role", "endpoint", "login"), *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _run_user_disable(args: argparse.Namespace) -> int:
    return _user_change(args.name, "disable", active=False, password=None)


def _run_user_enable(args: argparse.Namespace) -> int:
    return _user_change(args.name, "enable", active=True, password=None)


def _run_user_set_password(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    return _user_change(args.name, "set-password", active=None, password=password)


def _user_change(name: str, action: str, *, active: bool | None, password: str | None) -> int:
    """Disable, enable or set a password; the service notices on each socket's next login
    check (ws_login_check_seconds) and refuses the old tokens at once."""
    from app.auth.store import UserError, change_password, set_active  # noqa: PLC0415

    command = f"user {action}"
    database = _user_database(command)
    if database is None:
        return 2
    try:
        with database.session() as session:
            if password is not None:
                change_password(session, name, password)
                done = f"password of {name} set; their logins are ended"
            else:
                user = set_active(session, name, bool(active))
                done = f"{user.username} is {'enabled' if user.active else 'disabled'}"
    except UserError as error:
        print(f"{PROG} {command}: error: {error}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(done)
    return 0


def _run_linecheck(args: argparse.Namespace) -> int:
    from app.lines.linecheck import (  # noqa: PLC0415
        ProbeSettingsError,
        check_now,
        print_result,
        probe_config,
    )

    settings = _settings("linecheck")
    if settings is None:
        return 2
    try:
        config = probe_config(settings)
    except ProbeSettingsError as error:
        print(f"{PROG} linecheck: error: {error}", file=sys.stderr)
        return 2
    result = check_now(config)
    print_result(config, result, sys.stdout, as_json=args.json)
    return 0 if result.ok else 1


def _run_replay(args: argparse.Namespace) -> int:
    from telephony.calls.trunks import TrunkPlan  # noqa: PLC0415
    from telephony.capture import NotAnAmiStream  # noqa: PLC0415
    from telephony.replay import replay  # noqa: PLC0415

    path: Path = args.file
    if not path.is_file():
        return _fail(f"{path}: no such file")
    try:
        result = replay(path, TrunkPlan.parse(args.trunks))
    except NotAnAmiStream as error:
        return _fail(str(error))
    except OSError as error:
        return _fail(f"{path}: {error.strerror or error}")
    for problem in _warnings(result):
        print(f"{PROG} replay: warning: {path}: {problem}", file=sys.stderr)
    if args.json:
        _print_json(result, sys.stdout)
    else:
        _print_table(result, sys.stdout)
    return 0


def _fail(message: str) -> int:
    print(f"{PROG} replay: error: {message}", file=sys.stderr)
    return 2


def _warnings(result: ReplayResult) -> list[str]:
    problems = list(result.report.problems)
    if result.unfinished_calls:
        problems.append(
            f"{result.unfinished_calls} call(s) still in progress when the stream ended; "
            "not printed"
        )
    if not result.report.has_times and any(r.started_at is None for r in result.records):
        problems.append("no .times.tsv beside it and no Timestamp headers: durations are null")
    return problems


def _print_json(result: ReplayResult, out: TextIO) -> None:
    for record in result.records:
        out.write(json.dumps(record.contract(), ensure_ascii=False) + "\n")
    for fault in result.faults:
        out.write(json.dumps(fault.contract(), ensure_ascii=False) + "\n")


_COLUMNS = (
    ("ended", 8),
    ("call_id", 16),
    ("direction", 9),
    ("customer", 14),
    ("agent", 11),
    ("queue", 8),
    ("outcome", 9),
    ("ended_by", 8),
    ("cause", 5),
    ("ring", 6),
    ("talk", 6),
    ("hold", 5),
    ("xfer", 4),
)


def _print_table(result: ReplayResult, out: TextIO) -> None:
    out.write(f"{len(result.records)} call(s)\n")
    if result.records:
        out.write(_row([name for name, _ in _COLUMNS]))
        for record in result.records:
            out.write(_row(_cells(record)))
    out.write(f"\n{len(result.faults)} line fault signal(s)\n")
    for fault in result.faults:
        detail = "" if fault.detail is None else f"  ({fault.detail})"
        out.write(f"  {_clock(fault.at):>8}  {fault.fault:<22} {fault.location}{detail}\n")


def _row(cells: Sequence[str]) -> str:
    padded = (cell.ljust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True))
    return "  ".join(padded).rstrip() + "\n"


def _cells(record: CallRecord) -> list[str]:
    return [
        _clock(record.ended_at),
        record.call_id,
        str(record.direction),
        record.customer or "-",
        record.agent or "-",
        record.queue or "-",
        str(record.outcome),
        str(record.ended_by),
        "-" if record.hangup_cause is None else str(record.hangup_cause),
        _secs(record.ring_seconds),
        _secs(record.talk_seconds),
        _secs(record.hold_seconds),
        str(record.transfers),
    ]


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _clock(at: float | None) -> str:
    """Event times are epoch seconds (Timestamp headers) or seconds since connect (.times.tsv)."""
    if at is None:
        return "-"
    if at > 1e9:
        return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")
    return f"+{at:.1f}s"


if __name__ == "__main__":
    raise SystemExit(main())
