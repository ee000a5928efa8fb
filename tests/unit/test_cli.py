"""`callassist replay` as a person and a script see it: exit codes, stderr, the table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.cli import main
from tests.conftest import CAPTURES, LAB_TRUNKS
from tests.expected import compare_to_expected, load_expected
from tests.unit.recorded import json_lines, load, write_times


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_file_that_is_not_an_ami_stream_exits_2_with_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.ami"
    path.write_text("Event: Newchannel\r\nChannel: PJSIP/2001-00000000\r\n\r\n")

    code, out, err = run(["replay", str(path), "--json"], capsys)

    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert str(path) in err


def test_a_missing_file_exits_2_with_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["replay", str(tmp_path / "absent.ami"), "--json"], capsys)

    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1


def test_an_empty_file_is_not_an_ami_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.ami"
    path.write_bytes(b"")
    code, _, err = run(["replay", str(path)], capsys)
    assert code == 2
    assert len(err.splitlines()) == 1


def last_hangups(messages: tuple[bytes, ...]) -> dict[str, int]:
    """Linkedid -> index (0-based, in messages) of the call's last Hangup: when it ended."""
    ended: dict[str, int] = {}
    for index, message in enumerate(messages):
        if message.startswith(b"Event: Hangup\r\n"):
            found = re.search(rb"\r\nLinkedid: ([^\r]+)\r\n", message)
            assert found is not None
            ended[found.group(1).decode()] = index
    return ended


def test_a_truncated_capture_replays_the_calls_that_ended_before_the_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = load("burst_load")
    cut_message = len(capture.messages) // 2
    while not capture.messages[cut_message].startswith(b"Event: Hangup"):
        cut_message += 1  # cut inside a Hangup: its call must not be printed
    offset = len(capture.banner) + sum(len(m) for m in capture.messages[:cut_message])
    cut_at = offset + len(capture.messages[cut_message]) // 2
    path = tmp_path / "burst_load.ami"
    path.write_bytes(capture.raw[:cut_at])
    write_times(path, capture)

    code, out, err = run(["replay", str(path), "--json", "--trunks", LAB_TRUNKS], capsys)

    assert code == 0
    assert "warning" in err
    assert re.search(rf"\bbyte {offset}\b", err), err
    ended_before = {
        call_id for call_id, index in last_hangups(capture.messages).items() if index < cut_message
    }
    calls_expected, _ = load_expected(CAPTURES / "burst_load.expected.jsonl")
    assert 0 < len(ended_before) < len(calls_expected)
    expectation = tmp_path / "before_cut.expected.jsonl"
    expectation.write_text(
        "".join(
            json.dumps(call) + "\n" for call in calls_expected if call["call_id"] in ended_before
        )
    )
    calls, faults = json_lines(out)
    assert compare_to_expected(calls, faults, expectation) == []


def test_the_table_shows_each_calls_outcome_and_customer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = CAPTURES / "normal_inbound_caller_hangup.ami"

    code, out, err = run(["replay", str(path), "--trunks", LAB_TRUNKS], capsys)

    assert code == 0
    assert err == ""
    row = next(line for line in out.splitlines() if "1795478681.0" in line)
    assert "completed" in row.split()
    assert "+15551230100" in row.split()
    assert "customer" in row.split()


def test_the_table_lists_line_faults(capsys: pytest.CaptureFixture[str]) -> None:
    path = CAPTURES / "line_fault_unreachable.ami"

    code, out, _ = run(["replay", str(path), "--trunks", LAB_TRUNKS], capsys)

    assert code == 0
    assert re.search(r"unreachable\s+PJSIP/1002", out)
    assert re.search(r"recovered\s+PJSIP/1002", out)


def test_trunks_default_to_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLASSIST_TRUNKS", LAB_TRUNKS)
    path = CAPTURES / "originate_callback.ami"

    code, out, _ = run(["replay", str(path), "--json"], capsys)

    assert code == 0
    calls, faults = json_lines(out)
    assert compare_to_expected(calls, faults, CAPTURES / "originate_callback.expected.jsonl") == []


def test_without_times_durations_are_null_and_a_warning_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "normal_inbound_caller_hangup.ami"
    path.write_bytes((CAPTURES / path.name).read_bytes())  # no .times.tsv beside it

    code, out, err = run(["replay", str(path), "--json", "--trunks", LAB_TRUNKS], capsys)

    assert code == 0
    assert "warning" in err
    calls, _ = json_lines(out)
    assert [(c["ring_seconds"], c["talk_seconds"]) for c in calls] == [(None, None)]
    assert calls[0]["outcome"] == "completed"
