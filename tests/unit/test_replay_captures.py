"""Every real capture replays to exactly its expected calls and faults, through the library
and through `callassist replay --json` with its lab's trunks (ami/README.md); and the same
holds for captures transformed the way another Asterisk would differ (Timestamp headers, other
endpoint names and numbers, UTF-8 caller names)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import telephony.capture
from app.cli import main
from telephony.capture import read_capture
from tests.conftest import CAPTURE_FILES, CAPTURES, LAB2_PREFIX, LAB_TRUNKS, trunks_for
from tests.expected import compare_to_expected, load_expected
from tests.unit.recorded import contract_of, json_lines, load, write_times

NAMES = [path.name.removesuffix(".ami") for path in CAPTURE_FILES]
CONTRACT_CALL_KEYS = {
    "call_id",
    "direction",
    "customer",
    "agent",
    "agents",
    "queue",
    "started_at",
    "answered_at",
    "ended_at",
    "ring_seconds",
    "talk_seconds",
    "hold_seconds",
    "hangup_cause",
    "ended_by",
    "outcome",
    "drop_reason",
    "transfers",
    "recording",
}
CONTRACT_FAULT_KEYS = {"fault", "location", "at", "detail"}


def expected_path(name: str) -> Path:
    return CAPTURES / f"{name}.expected.jsonl"


def has_internal_calls(name: str) -> bool:
    calls, _ = load_expected(expected_path(name))
    return any(call["direction"] == "internal" for call in calls)


# Without a trunk plan the tracker takes the leg that starts a call for the customer's, so an
# agent or the line probe calling in reads as a customer: only a trunk plan tells them apart.
WITHOUT_INTERNAL_CALLS = [name for name in NAMES if not has_internal_calls(name)]


def test_all_twenty_two_captures_are_here_with_their_expectations() -> None:
    assert len(NAMES) == 22
    assert len([name for name in NAMES if name.startswith(LAB2_PREFIX)]) == 5
    for name in NAMES:
        assert expected_path(name).is_file()
        assert (CAPTURES / f"{name}.times.tsv").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_capture_replays_to_its_expected_calls_and_faults(name: str) -> None:
    calls, faults = contract_of(CAPTURES / f"{name}.ami", trunks_for(name))
    assert compare_to_expected(calls, faults, expected_path(name)) == []


@pytest.mark.parametrize("name", NAMES)
def test_cli_json_output_is_the_contract_and_matches_the_expectation(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trunks = trunks_for(name)
    code = main(["replay", str(CAPTURES / f"{name}.ami"), "--json", "--trunks", trunks])
    out = capsys.readouterr().out

    assert code == 0
    lines = out.splitlines()
    assert out.endswith("\n") or out == ""
    kinds = ["call" if "call_id" in json.loads(line) else "fault" for line in lines]
    assert kinds == sorted(kinds), "every call line must come before the fault lines"
    calls, faults = json_lines(out)
    assert all(set(call) == CONTRACT_CALL_KEYS for call in calls)
    assert all(set(fault) == CONTRACT_FAULT_KEYS for fault in faults)
    assert compare_to_expected(calls, faults, expected_path(name)) == []


@pytest.mark.parametrize("name", WITHOUT_INTERNAL_CALLS)
def test_capture_replays_the_same_with_roles_inferred_instead_of_trunks(name: str) -> None:
    calls, faults = contract_of(CAPTURES / f"{name}.ami", "")
    assert compare_to_expected(calls, faults, expected_path(name)) == []


# -- (a) timestampevents=yes: times from Timestamp headers, no .times.tsv ---------------------

EPOCH = 1795000000.0


def with_timestamps(name: str, directory: Path) -> Path:
    """The capture with a Timestamp header on every message, and no .times.tsv beside it;
    the second lab's captures were recorded so (timestampevents=yes) and are kept as they are."""
    capture = load(name)
    path = directory / f"{name}.ami"
    if any(b"\r\nTimestamp: " in message for message in capture.messages):
        path.write_bytes(capture.raw)
        return path
    messages = []
    for message, t_mono in zip(capture.messages, capture.times, strict=True):
        first, rest = message.split(b"\r\n", 1)
        stamp = f"Timestamp: {EPOCH + t_mono:.6f}".encode()
        messages.append(first + b"\r\n" + stamp + b"\r\n" + rest)
    path.write_bytes(capture.banner + b"".join(messages))
    return path


@pytest.mark.parametrize("name", NAMES)
def test_timestamp_headers_replace_the_times_file(name: str, tmp_path: Path) -> None:
    path = with_timestamps(name, tmp_path)
    assert not (tmp_path / f"{name}.times.tsv").exists()

    calls, faults = contract_of(path, trunks_for(name))

    assert compare_to_expected(calls, faults, expected_path(name)) == []
    for call in calls:
        assert call["started_at"] >= EPOCH
        assert call["ended_at"] >= call["started_at"]
    assert all(fault["at"] >= EPOCH for fault in faults)


def test_timestamp_header_wins_over_the_times_file(tmp_path: Path) -> None:
    capture = load("normal_inbound_caller_hangup")
    path = with_timestamps(capture.name, tmp_path)
    write_times(path, capture)  # arrival times too; index-keyed, so they line up

    times = [m.at for m in read_capture(path)]

    assert times == pytest.approx([EPOCH + t for t in capture.times], abs=1e-6)


# -- (b) another site: trunk PJSIP/carrier-eu, customers in China -----------------------------

NEW_TRUNK = "PJSIP/carrier-eu"
OLD_TRUNKS = ("PJSIP/2001", "PJSIP/carrier")  # the first lab's and the second's
# the labs' customers: +15551230100 (first lab), +15551230106 and +15551230108 (second lab,
# dialled back as 15551230108); each becomes +8613800138000 and the like, plus sign or not
_NUMBER = re.compile(r"(?<![0-9])(\+?)1555123010([0-9])(?![0-9])")
_NEW_NUMBER = r"\g<1>861380013800\2"
_RENAMES = [  # in this order: the second lab's names first, as the first's become carrier-eu
    # PJSIP/carrier-00000014, Peer: PJSIP/carrier, DialString 15551230108@carrier
    (re.compile(rb"PJSIP/carrier(?![0-9A-Za-z_])"), NEW_TRUNK.encode()),
    (re.compile(rb"@carrier(?![0-9A-Za-z_-])"), b"@carrier-eu"),
    (re.compile(rb"(?<=\r\n)(EndpointName: carrier|AOR: carrier)(?=(-aor)?\r\n)"), rb"\1-eu"),
    # whole tokens only: PJSIP/2001-0000000b, Peer: PJSIP/2001, AppData PJSIP/2001,30;
    # never PJSIP/20010 or a Uniqueid that happens to contain 2001
    (re.compile(rb"PJSIP/2001(?![0-9A-Za-z_])"), NEW_TRUNK.encode()),
    (re.compile(rb"(?<=\r\n)(EndpointName|AOR): 2001(?=\r\n)"), rb"\1: carrier-eu"),
    (re.compile(rb"sip:2001@"), b"sip:carrier-eu@"),
    (re.compile(_NUMBER.pattern.encode()), _NEW_NUMBER.encode()),
]


def renamed(message: bytes) -> bytes:
    for pattern, replacement in _RENAMES:
        message = pattern.sub(replacement, message)
    return message


def renamed_expectation(name: str, directory: Path) -> Path:
    calls, faults = load_expected(expected_path(name))
    for call in calls:
        if call["customer"] is not None:
            call["customer"] = _NUMBER.sub(_NEW_NUMBER, call["customer"])
    for fault in faults:
        if fault["location"] in OLD_TRUNKS:
            fault["location"] = NEW_TRUNK
    path = directory / f"{name}.renamed.expected.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in [*calls, *faults]))
    return path


@pytest.mark.parametrize("name", NAMES)
def test_other_endpoint_names_and_numbers_give_the_same_outcomes(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = load(name).map(renamed)
    path = tmp_path / f"{name}.ami"
    path.write_bytes(capture.raw)
    # the original .times.tsv: rows are keyed by message index, so shifted bytes don't matter
    (tmp_path / f"{name}.times.tsv").write_bytes((CAPTURES / f"{name}.times.tsv").read_bytes())
    assert not re.search(rb"PJSIP/(2001|carrier)(?![0-9A-Za-z_-])|155512301", capture.raw)

    code = main(["replay", str(path), "--json", "--trunks", "PJSIP/carrier-*"])

    assert code == 0
    calls, faults = json_lines(capsys.readouterr().out)
    assert compare_to_expected(calls, faults, renamed_expectation(name, tmp_path)) == []


# -- (c) a UTF-8 caller name, read in chunks that split its characters ----------------------

NAME = "张三"


@pytest.mark.parametrize("chunk", ["inside the first character", "inside the second", 29])
def test_a_utf8_caller_name_survives_reads_that_split_it(
    chunk: str | int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = load("normal_inbound_caller_hangup").map(
        lambda m: m.replace(b"Jane Customer", NAME.encode())
    )
    path = capture.write(tmp_path)
    first = capture.raw.index(NAME.encode())
    size = {"inside the first character": first + 1, "inside the second": first + 4}.get(
        str(chunk), chunk
    )
    assert isinstance(size, int)
    starts = [m.start() for m in re.finditer(NAME.encode(), capture.raw)]
    assert any(s < k < s + 6 for s in starts for k in range(size, len(capture.raw), size))
    monkeypatch.setattr(telephony.capture, "READ_CHUNK", size)

    messages = list(read_capture(path))

    names = [m.headers["CallerIDName"] for m in messages if "CallerIDName" in m.headers]
    assert NAME in names
    assert all("\ufffd" not in value for m in messages for value in m.headers.values())
    newchannel = next(m for m in messages if m.headers.get("Event") == "Newchannel")
    assert newchannel.headers["CallerIDName"] == NAME
    calls, faults = contract_of(path, LAB_TRUNKS)
    expected = expected_path("normal_inbound_caller_hangup")
    assert compare_to_expected(calls, faults, expected) == []
