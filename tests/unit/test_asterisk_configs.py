"""The shipped Asterisk configs provide what the app relies on.

The app meets the PBX through names: the callback context it originates into, the probe
extension, the AMI user's classes, the trunk's endpoint, the recordings' folder. A typo in a
.conf file would only show at the first dropped call on a real PBX; these tests read the
shipped files and walk the dialplan the way Asterisk would for the calls the app makes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.callbacks import rules as callback_policy
from app.settings import Settings
from telephony.ami import actions
from telephony.calls.trunks import TrunkPlan

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "telephony" / "asterisk"
ENTRYPOINT = ROOT / "docker" / "asterisk" / "entrypoint.sh"
COMPOSE = ROOT / "docker-compose.yml"


# ------------------------------------------------------------------ a small config reader
@dataclass
class Section:
    name: str
    options: list[str]  # "!" (a template), "+" (adds to an earlier section), template names
    items: list[tuple[str, str]] = field(default_factory=list)  # in order; keys repeat
    includes: list[str] = field(default_factory=list)

    def values(self, key: str) -> list[str]:
        return [value for name, value in self.items if name == key]

    def value(self, key: str) -> str | None:
        found = self.values(key)
        return found[-1] if found else None


_SECTION = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?\s*$")


def read_config(path: Path) -> list[Section]:
    """Asterisk's config syntax as far as the shipped files use it: sections with template
    options, ``key = value`` and ``key => value`` (keys repeat), ``;`` comments, #include.
    Templates are applied, so each concrete section holds what Asterisk would see."""
    sections: list[Section] = []
    current: Section | None = None
    for line_number, raw in enumerate(path.read_text().splitlines(), 1):
        line = re.split(r"(?<!\\);", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        if line.startswith("#include"):
            assert current is not None, f"{path.name}:{line_number}: #include outside a section"
            current.includes.append(line.removeprefix("#include").strip().strip('"'))
            continue
        if match := _SECTION.match(line):
            options = [o.strip() for o in (match[2] or "").split(",") if o.strip()]
            current = Section(match[1], options)
            sections.append(current)
            continue
        assert current is not None, f"{path.name}:{line_number}: a setting outside a section"
        key, arrow, value = line.partition("=>") if "=>" in line else line.partition("=")
        assert arrow, f"{path.name}:{line_number}: not key = value: {raw!r}"
        current.items.append((key.strip(), value.strip()))
    templates = {s.name: s for s in sections if "!" in s.options}
    for section in sections:
        inherited = [
            item
            for option in section.options
            if option in templates
            for item in templates[option].items
        ]
        unknown = [o for o in section.options if o not in ("!", "+") and o not in templates]
        assert not unknown, f"{path.name}: [{section.name}] uses unknown templates {unknown}"
        section.items = inherited + section.items
    return [s for s in sections if "!" not in s.options]


def pjsip_objects(kind: str) -> dict[str, Section]:
    """pjsip.conf's objects of one type (endpoint, auth, aor, ...) by name."""
    return {s.name: s for s in read_config(CONFIGS / "pjsip.conf") if s.value("type") == kind}


# ------------------------------------------------------------------ a small dialplan walker
@dataclass(frozen=True)
class Step:
    priority: int
    label: str | None
    app: str
    args: str


def read_dialplan() -> tuple[dict[str, dict[str, list[Step]]], dict[str, str]]:
    """extensions.conf as {context: {extension pattern: steps}} and its [globals]."""
    contexts: dict[str, dict[str, list[Step]]] = {}
    globals_: dict[str, str] = {}
    for section in read_config(CONFIGS / "extensions.conf"):
        if section.name == "general":
            continue
        if section.name == "globals":
            globals_.update(section.items)
            continue
        extensions = contexts.setdefault(section.name, {})
        last: str | None = None
        for key, value in section.items:
            assert key in ("exten", "same"), f"[{section.name}] {key} is not exten/same"
            line = value
            if key == "exten":
                last, _, line = value.partition(",")
            assert last is not None, f"[{section.name}]: 'same' before any 'exten'"
            steps = extensions.setdefault(last, [])
            priority_text, _, command = line.partition(",")
            label_match = re.fullmatch(r"(\w+|n)(?:\((\w+)\))?", priority_text.strip())
            assert label_match, f"[{section.name}] {last}: bad priority {priority_text!r}"
            priority = len(steps) + 1 if label_match[1] == "n" else int(label_match[1])
            app, _, args = command.partition("(")
            steps.append(Step(priority, label_match[2], app.strip(), args.removesuffix(")")))
    return contexts, globals_


def pattern_matches(pattern: str, number: str) -> bool:
    """Asterisk's extension patterns: _ then X, Z, N, [..], '.' and '!'; else literal."""
    if not pattern.startswith("_"):
        return pattern == number
    regex = ""
    rest = pattern[1:]
    while rest:
        char, rest = rest[0], rest[1:]
        if char == "[":
            inside, _, rest = rest.partition("]")
            regex += f"[{re.escape(inside).replace(chr(92) + '-', '-')}]"
        else:
            regex += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(
                char, re.escape(char)
            )
    return re.fullmatch(regex, number) is not None


def matching_extension(extensions: dict[str, list[Step]], number: str) -> str | None:
    """The extension Asterisk picks: an exact one first, then the longest literal prefix."""
    if number in extensions:
        return number
    candidates = [p for p in extensions if p.startswith("_") and pattern_matches(p, number)]
    return max(candidates, key=lambda p: len(re.split(r"[XZN.!\[]", p[1:])[0]), default=None)


def expand(text: str, variables: dict[str, str]) -> str:
    """${VAR}, ${VAR:offset}, ${FILTER(allowed,...)} and ${STRFTIME(...)}, innermost first;
    a function such as CALLERID(num) is looked up as a variable of that name."""
    while match := re.search(r"\$\{([^${}]+)\}", text):
        inner = match[1]
        if inner.startswith("STRFTIME("):
            result = "20261124-000441"  # the format's shape; the clock is Asterisk's
        elif inner.startswith("FILTER("):
            allowed, _, value = inner.removeprefix("FILTER(").removesuffix(")").partition(",")
            chars = set(allowed.replace("0-9", "0123456789"))
            result = "".join(c for c in value if c in chars)
        else:
            name, _, offset = inner.partition(":")
            result = variables.get(name, f"<{name}>")[int(offset or 0) :]
        text = text[: match.start()] + result + text[match.end() :]
    return text


def run_dialplan(context: str, number: str, channel: dict[str, str]) -> list[tuple[str, str]]:
    """The applications Asterisk runs for a call entering context/number, args expanded.

    Follows Goto and GotoIf (string comparisons), Set; stops at Hangup or at the end."""
    contexts, globals_ = read_dialplan()
    variables = {**globals_, **channel}
    ran: list[tuple[str, str]] = []
    for _ in range(50):
        pattern = matching_extension(contexts[context], number)
        assert pattern is not None, f"no extension in [{context}] matches {number!r}"
        variables["EXTEN"] = number
        steps = contexts[context][pattern]
        index = 0
        jumped = False
        while index < len(steps):
            step = steps[index]
            args = expand(step.args, variables)
            ran.append((step.app, args))
            if step.app == "Hangup":
                return ran
            if step.app == "Set":
                name, _, value = args.partition("=")
                variables[name] = value
            elif step.app == "Goto":
                target = args.split(",")
                context, number = (
                    (target[0], target[1]) if len(target) == 3 else (context, target[0])
                )
                jumped = True
                break
            elif step.app == "GotoIf":
                condition, _, label = args.partition("?")
                compared = re.fullmatch(r'\$\["(.*)" (!=|=) "(.*)"\]', condition)
                assert compared, f"GotoIf the walker cannot read: {condition}"
                left, op, right = compared.groups()
                if (left == right) == (op == "="):
                    index = next(i for i, s in enumerate(steps) if s.label == label)
                    continue
            index += 1
        if not jumped:
            return ran
    raise AssertionError("the dialplan loops")


def apps(ran: list[tuple[str, str]]) -> list[str]:
    return [app for app, _ in ran]


def compose_apps() -> dict[str, dict[str, Any]]:
    """The compose stack's app instances: the services that log in to the AMI."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return {
        name: service
        for name, service in services.items()
        if "CALLASSIST_AMI_URL" in service.get("environment", {})
    }


def compose_app_environment() -> dict[str, str]:
    """What the instances share (they differ only in CALLASSIST_INSTANCE_NAME)."""
    shared = [
        {k: v for k, v in app["environment"].items() if k != "CALLASSIST_INSTANCE_NAME"}
        for app in compose_apps().values()
    ]
    assert all(env == shared[0] for env in shared), shared
    return dict(shared[0])


def trunk_endpoint() -> str:
    """The carrier's endpoint: the one the compose stack names in CALLASSIST_TRUNKS."""
    plan = TrunkPlan.parse(compose_app_environment()["CALLASSIST_TRUNKS"])
    trunks = [name for name in pjsip_objects("endpoint") if plan.is_trunk(f"PJSIP/{name}")]
    assert len(trunks) == 1, f"CALLASSIST_TRUNKS should name one endpoint, names {trunks}"
    return trunks[0]


# ------------------------------------------------------------------ callbacks
def default(name: str) -> str:
    """The app's default for a setting: what the shipped configs must match."""
    return str(Settings.model_fields[name].default)


CALLBACK_CONTEXT = default("callback_context")
PROBE_USERNAME = default("probe_username")
PROBE_EXTENSION = default("probe_extension")
CALLBACK_VARIABLES = {
    callback_policy.CALLBACK_TAG: "7",
    callback_policy.ATTEMPT_TAG: "12",
    callback_policy.CALLBACK_FOR_TAG: "1795478681.0",
    callback_policy.CUSTOMER_TAG: "+15551230100",
    "UNIQUEID": "1795478700.5",
    "EPOCH": "1795478700",
}


@pytest.mark.parametrize("number", ["+15551230100", "15551230100", "0201234567"])
def test_a_callback_dials_the_customer_over_the_trunk_and_records(number: str) -> None:
    ran = run_dialplan(CALLBACK_CONTEXT, number, CALLBACK_VARIABLES)
    dials = [args for app, args in ran if app == "Dial"]
    assert dials, f"the callback context never dials: {ran}"
    assert dials[0].split(",")[0] == f"PJSIP/{number.lstrip('+')}@{trunk_endpoint()}"
    recordings = [args for app, args in ran if app == "MixMonitor"]
    assert recordings, "a callback is recorded like any call"
    assert apps(ran).index("MixMonitor") < apps(ran).index("Dial")
    file_name, _, options = recordings[0].partition(",")
    assert "b" in options  # only while bridged
    assert not file_name.startswith("/"), "relative: MixMonitor writes into the monitor folder"


@pytest.mark.parametrize("number", ["1&PJSIP/1002", "123,,D(1)", "+1555@evil"])
def test_a_number_that_is_not_digits_never_reaches_dial(number: str) -> None:
    """The number comes from a customer's caller ID: '&' or ',' in Dial() would ring other
    channels or add options."""
    ran = run_dialplan(CALLBACK_CONTEXT, number, CALLBACK_VARIABLES)
    assert "Dial" not in apps(ran)
    assert ran[-1] == ("Hangup", "28")  # invalid number format: the attempt failed
    # And should that check ever be bypassed, Dial() gets only the filtered digits.
    contexts, _ = read_dialplan()
    dials = [s for steps in contexts[CALLBACK_CONTEXT].values() for s in steps if s.app == "Dial"]
    assert dials and all("${EXTEN" not in dial.args for dial in dials)


def test_the_callback_context_reads_only_variables_the_app_passes() -> None:
    """A ${CALLASSIST_...} the app never sets would be empty on every callback, and a Set()
    of one would overwrite the app's own tags on the call."""
    contexts, globals_ = read_dialplan()
    steps = [step for steps in contexts[CALLBACK_CONTEXT].values() for step in steps]
    passed = {
        callback_policy.CALLBACK_TAG,
        callback_policy.ATTEMPT_TAG,
        callback_policy.CALLBACK_FOR_TAG,
        callback_policy.CUSTOMER_TAG,
    }
    set_here = {s.args.partition("=")[0] for s in steps if s.app == "Set"}
    builtins = {"EXTEN", "UNIQUEID", "EPOCH"}
    for step in steps:
        for name in re.findall(r"\$\{(\w+)", step.args):
            if name in {"FILTER", "STRFTIME", "CALLERID"}:
                continue
            assert name in passed | set_here | builtins | set(globals_), name
    assert not {name for name in set_here if name.startswith("CALLASSIST_")}


def test_the_callback_context_is_not_reachable_from_phones_or_the_trunk() -> None:
    """Only the app's Originate should start a callback (it dials out on the centre's bill)."""
    contexts = {e.value("context") for e in pjsip_objects("endpoint").values()}
    assert CALLBACK_CONTEXT not in contexts


# ------------------------------------------------------------------ inbound and agents
def test_an_inbound_call_is_recorded_and_queued_to_agents_who_exist() -> None:
    carrier = pjsip_objects("endpoint")[trunk_endpoint()]
    ran = run_dialplan(
        carrier.value("context") or "", "+15551230100", {"UNIQUEID": "1.1", "EPOCH": "1"}
    )
    assert apps(ran)[-3:-1] == ["MixMonitor", "Queue"], ran
    assert "b" in dict(ran)["MixMonitor"].split(",")[1]
    queue = dict(ran)["Queue"].split(",")[0]
    queues = {s.name: s for s in read_config(CONFIGS / "queues.conf")}
    members = [m.split(",")[0] for m in queues[queue].values("member")]
    endpoints = pjsip_objects("endpoint")
    assert members == ["PJSIP/1001", "PJSIP/1002"]
    assert all(m.removeprefix("PJSIP/") in endpoints for m in members)


def test_a_crafted_caller_id_cannot_steer_the_recording_file_name() -> None:
    caller = {"CALLERID(num)": "../../etc/asterisk/x;+1", "UNIQUEID": "1.1", "EPOCH": "1"}
    ran = run_dialplan("inbound", "s", caller)
    file_name = dict(ran)["MixMonitor"].split(",")[0]
    assert "/" not in file_name and ".." not in file_name and ";" not in file_name, file_name
    assert "+1" in file_name  # the number itself is kept: QA finds recordings by it


@pytest.mark.parametrize("agent", ["1001", "1002"])
def test_agents_are_qualified_and_time_out_dead_media(agent: str) -> None:
    endpoint = pjsip_objects("endpoint")[agent]
    assert int(endpoint.value("rtp_timeout") or 0) > 0
    assert endpoint.value("context") in read_dialplan()[0]
    auth = pjsip_objects("auth")[endpoint.value("auth") or ""]
    assert auth.value("username") == agent
    aor = pjsip_objects("aor")[endpoint.value("aors") or ""]
    assert 0 < float(aor.value("qualify_frequency") or 0) <= 60


def test_the_trunk_is_qualified_so_a_dead_carrier_opens_an_incident() -> None:
    trunk = pjsip_objects("endpoint")[trunk_endpoint()]
    assert int(trunk.value("rtp_timeout") or 0) > 0
    aor = pjsip_objects("aor")[trunk.value("aors") or ""]
    assert float(aor.value("qualify_frequency") or 0) > 0


def test_every_endpoint_context_exists() -> None:
    contexts = read_dialplan()[0]
    for name, endpoint in pjsip_objects("endpoint").items():
        assert endpoint.value("context") in contexts, name


# ------------------------------------------------------------------ the line probe
def test_the_probe_account_reaches_the_probe_extension() -> None:
    endpoints = pjsip_objects("endpoint")
    auths = pjsip_objects("auth")
    probe = next(
        e
        for e in endpoints.values()
        if e.value("auth") in auths
        and auths[e.value("auth") or ""].value("username") == PROBE_USERNAME
    )
    ran = run_dialplan(probe.value("context") or "", PROBE_EXTENSION, {})
    assert apps(ran) == ["Answer", "Wait", "Hangup"]
    aor = pjsip_objects("aor")[probe.value("aors") or ""]
    assert aor.value("qualify_frequency") == "0"  # pyVoIP never answers OPTIONS


# ------------------------------------------------------------------ AMI
def manager_user() -> Section:
    url = compose_app_environment()["CALLASSIST_AMI_URL"]
    username = url.removeprefix("ami://").partition(":")[0]
    return next(s for s in read_config(CONFIGS / "manager.conf") if s.name == username)


def classes(section: Section, key: str) -> set[str]:
    return {c.strip() for c in (section.value(key) or "").split(",") if c.strip()}


def test_the_ami_user_reads_every_event_class_the_app_subscribes_to() -> None:
    assert set(actions.EVENT_CLASSES.split(",")) <= classes(manager_user(), "read")


# The write classes Asterisk 22 registers each action with (main/manager.c, main/pbx.c,
# res/res_manager_devicestate.c, res/res_pjsip/pjsip_options.c and pjsip_configuration.c);
# a user may send it with ANY of them (manager.c: writeperm & authority). (): any user.
ACTION_CLASSES: dict[str, tuple[str, ...]] = {
    "Login": (),
    "Events": (),
    "Ping": (),
    "ListCommands": (),
    "Filter": ("system",),  # sent only when ListCommands lists it: not for this user
    "CoreStatus": ("system", "reporting"),  # sent only when ListCommands lists it
    "CoreShowChannels": ("system", "reporting"),
    "Status": ("system", "call", "reporting"),
    "DeviceStateList": ("call", "reporting"),
    "PJSIPShowContacts": ("system",),  # sent only when ListCommands lists it
    "PJSIPShowEndpoints": ("system",),
    "PJSIPShowEndpoint": ("system",),
    "Originate": ("originate",),
    "ShowDialPlan": ("config", "reporting"),
}
# What the app sends whatever the user's classes; the rest only when ListCommands lists them.
ALWAYS_SENT = [
    actions.login("u", "s"),
    actions.events(actions.EVENT_CLASSES),
    actions.ping(),
    actions.list_commands(),
    actions.core_show_channels(),
    {"Action": "Status", "Channel": "1.1"},  # app/callbacks/flights.py
    actions.device_state_list(),
    actions.originate(
        channel="PJSIP/1001", context="c", exten="1", caller_id="x", channel_id="1.1"
    ),
    actions.show_dialplan("callassist-callback"),
]
# Sent only when ListCommands lists it, and the shipped user must have it: CoreStatus dates
# the PBX's start, which tells a restart from a network cut.
LISTED_AND_NEEDED = [actions.core_status()]
# Classes that give more than the app needs: shell commands, configs with their secrets.
TOO_MUCH = {"system", "command", "config", "all"}


@pytest.mark.parametrize("action", [a["Action"] for a in [*ALWAYS_SENT, *LISTED_AND_NEEDED]])
def test_the_ami_user_may_send_every_action_the_app_sends(action: str) -> None:
    needed = ACTION_CLASSES[str(action)]
    assert not needed or set(needed) & classes(manager_user(), "write")


def test_the_ami_user_may_do_nothing_more() -> None:
    """No "system" (GetConfig, ModuleLoad, Originate of System), "command" (a shell through
    the CLI), "config" or "all"; and nothing the app does not send."""
    user = manager_user()
    write = classes(user, "write")
    assert write == {"originate", "reporting"}
    assert not write & TOO_MUCH
    assert classes(user, "read") == set(actions.EVENT_CLASSES.split(","))


def test_the_ami_user_gets_only_the_events_the_app_uses() -> None:
    """manager.conf's eventfilter lines are the link's filters (no Filter action without
    "system"), in the advanced form, as manager_conf_filters makes them."""
    lines = [
        line.strip()
        for line in (CONFIGS / "manager.conf").read_text().splitlines()
        if line.startswith("eventfilter")
    ]
    wanted = actions.manager_conf_filters(actions.WANTED_EVENTS, actions.WANTED_VARIABLES)
    assert lines == wanted
    names = {key for key, _ in manager_user().items if key.startswith("eventfilter")}
    assert len(names) == len(wanted)  # every line is in the [callassist] section


def test_only_the_app_instances_may_log_in() -> None:
    """Everything is denied but each compose instance's fixed address, whichever owns the PBX."""
    user = manager_user()
    rules = [(key, value) for key, value in user.items if key in ("deny", "permit")]
    addresses = [app["networks"]["pbx"]["ipv4_address"] for app in compose_apps().values()]
    assert addresses == ["172.29.38.10", "172.29.38.11"]
    permits = [("permit", f"{address}/255.255.255.255") for address in addresses]
    assert rules == [("deny", "0.0.0.0/0.0.0.0"), *permits]


def test_the_ami_listens_on_the_compose_network_only_with_a_secret_from_outside_git() -> None:
    general = next(s for s in read_config(CONFIGS / "manager.conf") if s.name == "general")
    assert general.value("enabled") == "yes"
    assert general.value("port") == "5038"
    assert general.value("bindaddr") == "0.0.0.0"  # inside the container; not published
    user = manager_user()
    assert user.value("secret") is None
    assert user.includes == ["manager_secret.conf"]
    assert "manager_secret.conf" in ENTRYPOINT.read_text()


def test_no_password_is_shipped() -> None:
    for path in CONFIGS.glob("*.conf"):
        if path.name == "pjsip_probe.conf":
            continue  # the operators' sample: a placeholder they replace
        for section in read_config(path):
            assert section.value("password") is None, f"{path.name} [{section.name}]"
            assert section.value("secret") is None, f"{path.name} [{section.name}]"
    assert "pjsip_secrets.conf" in ENTRYPOINT.read_text()


# ------------------------------------------------------------------ asterisklint
def test_asterisklint_finds_nothing_in_the_dialplan() -> None:
    linter = Path(sys.executable).with_name("asterisklint")
    if not linter.exists() and shutil.which("asterisklint") is None:
        pytest.skip("asterisklint is not installed (pip install -e '.[test]')")
    command = str(linter) if linter.exists() else "asterisklint"
    result = subprocess.run(
        [command, "dialplan-check", "extensions.conf"],
        cwd=CONFIGS,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ALINT_IGNORE": ""},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", (
        result.stdout + result.stderr
    )


def test_asterisklint_would_catch_a_broken_dialplan(tmp_path: Path) -> None:
    """The check above means something: a misspelt application fails it."""
    linter = Path(sys.executable).with_name("asterisklint")
    if not linter.exists():
        pytest.skip("asterisklint is not installed (pip install -e '.[test]')")
    text = (
        (CONFIGS / "extensions.conf")
        .read_text()
        .replace("Dial(PJSIP/${NUMBER}", "Dail(PJSIP/${NUMBER}")
    )
    (tmp_path / "extensions.conf").write_text(text)
    result = subprocess.run(
        [str(linter), "dialplan-check", "extensions.conf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "E_APP_MISSING" in result.stdout + result.stderr
