"""Several PBXs: how they are named in the settings, and how a PBX's ids become the
service's (app/pbxes/config.py, telephony/scope.py)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from app.pbxes.ids import split_call_id
from app.settings import Settings
from telephony.scope import IdScope

SOUTH = IdScope.of("south")
URL = "ami://callassist:Secret-In-A-Url@10.1.0.5:5038"


def pbxes(*entries: dict[str, str]) -> str:
    return json.dumps(list(entries))


def test_a_pbx_that_is_not_the_default_puts_its_name_before_every_id_it_hands_on() -> None:
    event = {
        "Event": "BridgeEnter",
        "Channel": "PJSIP/1001-0000000a",
        "Uniqueid": "1733490000.12",
        "Linkedid": "1733490000.10",
        "DestUniqueid": "1733490000.13",
        "TransfererLinkedid": "1733490000.10",
        "BridgeUniqueid": "9f1c",
        "CallerIDNum": "1733490000",
        "DestLinkedid": "",
    }
    seen = SOUTH.inward(event)
    assert seen["Uniqueid"] == "south:1733490000.12"
    assert seen["Linkedid"] == seen["TransfererLinkedid"] == "south:1733490000.10"
    assert seen["DestUniqueid"] == "south:1733490000.13"
    assert seen["Channel"] == "PJSIP/1001-0000000a"  # a name, not an id
    assert seen["CallerIDNum"] == "1733490000"
    assert seen["DestLinkedid"] == ""  # nothing to name
    assert SOUTH.inward(seen) == seen  # never twice


def test_an_originate_response_names_its_attempt_as_the_service_does() -> None:
    response = {"Event": "OriginateResponse", "ActionID": "c0ffee", "Uniqueid": "c0ffee"}
    assert SOUTH.inward(response)["ActionID"] == "south:c0ffee"


def test_an_action_reaches_the_pbx_with_its_own_ids() -> None:
    action = {
        "Action": "Originate",
        "Channel": "PJSIP/1001",
        "ChannelId": "south:c0ffee",
        "ActionID": "south:c0ffee",
        "Exten": "+15550001111",
        "Variable": "CALLASSIST_CALLBACK_FOR=south:1733490000.10",
    }
    sent = SOUTH.outward(action)
    assert sent["ChannelId"] == sent["ActionID"] == "c0ffee"
    assert sent["Channel"] == "PJSIP/1001"
    assert sent["Variable"] == action["Variable"]  # the service's own tag, kept as it is
    status = SOUTH.outward({"Action": "Status", "Channel": "south:c0ffee"})
    assert status["Channel"] == "c0ffee"


def test_the_default_pbx_keeps_the_ids_as_they_are() -> None:
    event = {"Uniqueid": "1733490000.12", "Linkedid": "1733490000.10"}
    assert IdScope.of(None).inward(event) == event
    assert split_call_id("1733490000.10") == ("default", "1733490000.10")
    assert split_call_id("south:1733490000.10") == ("south", "1733490000.10")
    assert split_call_id("host-a-1733490000.10") == ("default", "host-a-1733490000.10")


def test_several_pbxs_are_named_with_their_ami_urls_and_trunks() -> None:
    settings = Settings(
        pbxes=pbxes(
            {"name": "default", "ami_url": URL, "trunks": "PJSIP/2001"},
            {
                "name": "south",
                "ami_url": URL.replace("10.1", "10.2"),
                "trunks": "PJSIP/gw-*",
                "recordings_dir": "/srv/south/monitor",
            },
        ),
        recordings_dir="/var/spool/asterisk/monitor",
    )
    default, south = settings.pbx_list
    assert (default.name, south.name) == ("default", "south")
    assert settings.trunk_plan_of(south).is_trunk("PJSIP/gw-7")
    config = south.link_config()
    assert config is not None and config.host == "10.2.0.5" and config.ids == SOUTH
    first = default.link_config()
    assert first is not None and first.ids == IdScope()
    assert settings.journal_file_of("south").name == "callassist.db.south.unstored.jsonl"
    assert str(settings.recordings_dir_of("south")) == "/srv/south/monitor"
    assert str(settings.recordings_dir_of("default")) == "/var/spool/asterisk/monitor"


def test_one_pbx_of_ami_url_is_the_default_one() -> None:
    (only,) = Settings(ami_url=URL, trunks="PJSIP/2001").pbx_list
    assert (only.name, only.trunks) == ("default", "PJSIP/2001")
    (none,) = Settings().pbx_list
    assert none.link_config() is None  # no PBX: the service runs without live calls


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[{'name': 'a'}]", "not JSON (line 1, column 3)"),
        ("[]", "an empty list"),
        (pbxes({"name": "s", "ami_url": URL}, {"name": "S", "ami_url": URL}), "named twice"),
        (pbxes({"name": "so:uth", "ami_url": URL}), "0.name: String should match pattern"),
        (pbxes({"name": "south"}), "0.ami_url: Field required"),
        (pbxes({"name": "south", "ami_url": URL, "trunk": "x"}), "0.trunk: Extra inputs"),
        (pbxes({"name": "south", "ami_url": "http://callassist:Secret-In-A-Url@h"}), "ami://"),
    ],
)
def test_a_list_of_pbxs_that_cannot_be_used_is_refused_saying_why_and_no_secret(
    text: str, said: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(pbxes=text)
    problems = refused.value.errors(include_input=False, include_url=False)
    assert said in str(problems[0]["msg"])
    assert "Secret-In-A-Url" not in str(problems)


def test_the_pbxs_are_named_one_way_only() -> None:
    with pytest.raises(ValidationError, match="leave CALLASSIST_AMI_URL and CALLASSIST_TRUNKS"):
        Settings(ami_url=URL, pbxes=pbxes({"name": "south", "ami_url": URL}))
