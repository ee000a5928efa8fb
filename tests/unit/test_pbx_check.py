"""The PBX check's verdict: what the PBX answered in, sentences an IT engineer acts on out."""

from __future__ import annotations

import pytest

from app.lines.pbx_check import (
    Expectations,
    Listing,
    assess,
    extension_matches,
    read_commands,
    read_listing,
)

EVERYTHING = {"Originate", "CoreShowChannels", "Status", "CoreStatus", "DeviceStateList", "Ping"}
CALLBACK = Listing(found=True, extensions=("_X.", "_+X."))
PROBE = Listing(found=True, extensions=("*77",))
EXPECT = Expectations("callassist-callback", "*77")


def test_a_pbx_with_everything_passes() -> None:
    check = assess(EVERYTHING, CALLBACK, PROBE, EXPECT, at=100.0)
    assert check.ok
    assert check.problems == []
    assert check.checked_at == 100.0


def test_a_user_without_originate_is_told_which_write_class_to_add() -> None:
    check = assess(EVERYTHING - {"Originate"}, CALLBACK, PROBE, EXPECT, at=1.0)
    assert not check.ok
    assert check.problems == [
        "the AMI user may not send Originate: add `originate` to its write classes in "
        "manager.conf; callbacks cannot be dialled"
    ]


def test_action_names_are_compared_without_case() -> None:
    commands = {name.lower() for name in EVERYTHING}
    assert assess(commands, CALLBACK, PROBE, EXPECT, at=1.0).ok


def test_every_missing_action_is_its_own_problem() -> None:
    check = assess({"Ping"}, CALLBACK, PROBE, EXPECT, at=1.0)
    sent = [problem.split(":")[0] for problem in check.problems]
    assert sent == [
        "the AMI user may not send Originate",
        "the AMI user may not send CoreShowChannels",
        "the AMI user may not send Status",
        "the AMI user may not send CoreStatus",
        "the AMI user may not send DeviceStateList",
    ]
    assert not any("`system`" in problem for problem in check.problems)
    assert "`reporting`" in check.problems[1]  # CoreShowChannels: reporting, not system
    assert "a PBX restart is not noticed" in check.problems[3]
    assert "load res_manager_devicestate.so" in check.problems[4]


def test_a_missing_callback_context_names_the_setting_and_the_shipped_dialplan() -> None:
    check = assess(EVERYTHING, Listing(found=False), PROBE, EXPECT, at=1.0)
    assert check.problems == [
        "the dialplan has no context callassist-callback (CALLASSIST_CALLBACK_CONTEXT): "
        "callbacks would fail; add it (see telephony/asterisk/extensions.conf)"
    ]


def test_a_callback_context_without_a_customer_number_pattern_is_a_problem() -> None:
    only_agents = Listing(found=True, extensions=("1001", "_1XXX"))
    check = assess(EVERYTHING, only_agents, PROBE, EXPECT, at=1.0)
    assert not check.ok
    assert "has no extension for a customer's number" in check.problems[0]


def test_the_probe_extension_is_checked_only_when_a_probe_is_configured() -> None:
    missing = Listing(found=False)
    with_probe = assess(EVERYTHING, CALLBACK, missing, EXPECT, at=1.0)
    assert with_probe.problems == [
        "the dialplan has no extension *77 (CALLASSIST_PROBE_EXTENSION): the line check would "
        "fail; add it to the probe's context (see telephony/asterisk/pjsip_probe.conf)"
    ]
    without_probe = assess(EVERYTHING, CALLBACK, None, Expectations("callassist-callback"), 1.0)
    assert without_probe.ok


def test_a_check_that_could_not_run_is_not_ok_and_says_so() -> None:
    check = assess(None, CALLBACK, PROBE, EXPECT, at=1.0)
    assert not check.ok
    assert check.problems == ["not checked: the PBX did not list the actions the AMI user may send"]


def test_a_refused_show_dialplan_is_not_taken_for_a_missing_context() -> None:
    refused = read_listing([{"Response": "Error", "Message": "Permission denied"}])
    check = assess(EVERYTHING, refused, PROBE, EXPECT, at=1.0)
    assert check.problems[0].startswith("not checked: the dialplan context callassist-callback")
    assert "`reporting`" in check.problems[0]


def test_list_commands_headers_are_the_permitted_actions() -> None:
    reply = {
        "Response": "Success",
        "ActionID": "a1",
        "Originate": "Originate a call. (Priv: originate,all)",
        "Ping": "Keepalive command. (Priv: <none>)",
    }
    assert read_commands(reply) == {"Originate", "Ping"}
    assert read_commands({"Response": "Error", "Message": "Permission denied"}) is None


def test_show_dialplan_answers_are_read_as_asterisk_words_them() -> None:
    listing = read_listing(
        [
            {"Response": "Success", "EventList": "start"},
            {"Event": "ListDialplan", "Context": "callassist-callback", "Extension": "_X."},
            {"Event": "ShowDialPlanComplete", "EventList": "Complete", "ListItems": "1"},
        ]
    )
    assert listing == Listing(found=True, extensions=("_X.",))
    missing = {"Response": "Error", "Message": "Did not find context callassist-callback"}
    assert read_listing([missing]) == Listing(found=False)
    no_exten = {"Response": "Error", "Message": "Did not find extension *77 in any context"}
    assert read_listing([no_exten]) == Listing(found=False)


@pytest.mark.parametrize(
    ("pattern", "number", "matches"),
    [
        ("_X.", "0301234567", True),
        ("_X.", "+49301234567", False),
        ("_+X.", "+49301234567", True),
        ("_NXXNXXXXXX", "2125551234", True),
        ("_NXXNXXXXXX", "1125551234", False),
        ("_0[1-9]!", "03", True),
        ("_0[1-9]!", "00", False),
        ("*77", "*77", True),
        ("*77", "*78", False),
        ("_X.", "0", False),  # "." is one or more
    ],
)
def test_extension_patterns_match_as_asterisk_matches_them(
    pattern: str, number: str, matches: bool
) -> None:
    assert extension_matches(pattern, number) is matches
