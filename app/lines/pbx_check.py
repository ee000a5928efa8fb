"""The PBX check: after every (re)connect, does the PBX give callassist what it relies on?

A missing write class or dialplan context otherwise shows up at the worst moment: the first
callback after a dropped call fails with "Permission denied", or Asterisk answers the
Originate and then finds no context to run. So on every login the checker asks the PBX what
the AMI user may send (``ListCommands``: Asterisk lists only the actions the user's write
classes permit) and what the dialplan holds (``ShowDialPlan``, which ``reporting``
permits), and the pure ``assess`` turns the answers into sentences an IT engineer can act
on, for /api/status and the IT board.

``assess`` and ``read_listing`` are pure (plain data in, a verdict out); ``PbxChecker`` is
the adapter that asks over the AMI link.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.live.no_pbx import PbxLink, pbx_configured
from app.settings import Settings
from telephony.ami import actions
from telephony.ami.link import AmiError

log = logging.getLogger("callassist.pbx_check")

NOT_CHECKED = "not checked"
ANSWER_WITHIN = 5.0  # seconds for each of the check's actions
WATCH_EVERY = 0.25  # how often the checker looks for a new login
RECHECK_EVERY = 900.0  # a dialplan reload needs no reconnect: look again now and then


@dataclass(frozen=True, slots=True)
class Need:
    """One AMI action callassist sends: the write class that permits it, what it is for."""

    action: str
    write_class: str
    without: str
    module: str | None = None  # the Asterisk module that provides the action, if not the core


# What the AMI user needs, and no more (telephony/asterisk/manager.conf: write =
# originate,reporting). Each class is the one Asterisk 22 registers the action with (an
# action is let through when the user has ANY of its classes, main/manager.c). Never
# `system`: with it the user could read the generated secrets (GetConfig), load modules,
# reload, hang up any channel, and with `originate` run shell commands (Originate of the
# System application). The event filters need no class: they are manager.conf's.
NEEDED_ACTIONS = (
    Need("Originate", "originate", "callbacks cannot be dialled"),
    Need(
        "CoreShowChannels",
        "reporting",
        "live calls are not re-read after a reconnect, so calls that changed meanwhile "
        "stay wrong on the consoles",
    ),
    Need(
        "Status",
        "reporting",
        "a callback attempt that a cut or a restart hid cannot be found by its ChannelId",
    ),
    Need(
        "CoreStatus",
        "reporting",
        "a PBX restart is not noticed at a login (events are off until the filters are in,"
        " so no FullyBooted comes): calls the restart ended stay live until they are re-read",
    ),
    Need(
        "DeviceStateList",
        "reporting",
        "the IT board and the shift check cannot read the phones' and trunks' state after a "
        "reconnect, only the changes that follow it",
        module="res_manager_devicestate.so",
    ),
)
# Numbers a customer may call from, as the callback context gets them (${EXTEN}).
CUSTOMER_NUMBERS = ("0301234567", "+49301234567")


@dataclass(frozen=True, slots=True)
class Listing:
    """ShowDialPlan's answer: found or not, the extensions, or why the PBX would not say."""

    found: bool
    extensions: tuple[str, ...] = ()
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class Expectations:
    """The names callassist uses, from its settings."""

    callback_context: str
    probe_extension: str | None = None  # None: no line probe configured


@dataclass(frozen=True, slots=True)
class PbxCheck:
    ok: bool
    problems: list[str] = field(default_factory=list)
    checked_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"checked_at": self.checked_at, "ok": self.ok, "problems": list(self.problems)}


def not_checked(why: str, at: float | None = None) -> PbxCheck:
    return PbxCheck(ok=False, problems=[f"{NOT_CHECKED}: {why}"], checked_at=at)


def assess(
    commands: set[str] | None,
    callback: Listing,
    probe: Listing | None,
    expect: Expectations,
    at: float,
) -> PbxCheck:
    """The verdict on what the PBX answered; ``commands`` None: ListCommands got no answer."""
    problems = [*_action_problems(commands), *_callback_problems(callback, expect)]
    if expect.probe_extension is not None and probe is not None:
        problems += _probe_problems(probe, expect.probe_extension)
    return PbxCheck(ok=not problems, problems=problems, checked_at=at)


def _action_problems(commands: set[str] | None) -> list[str]:
    if commands is None:
        return [f"{NOT_CHECKED}: the PBX did not list the actions the AMI user may send"]
    permitted = {name.lower() for name in commands}
    return [_missing(need) for need in NEEDED_ACTIONS if need.action.lower() not in permitted]


def _missing(need: Need) -> str:
    loaded = f" (and load {need.module} in modules.conf)" if need.module else ""
    return (
        f"the AMI user may not send {need.action}: add `{need.write_class}` to its write "
        f"classes in manager.conf{loaded}; {need.without}"
    )


def _callback_problems(listing: Listing, expect: Expectations) -> list[str]:
    context = expect.callback_context
    if listing.refused is not None:
        return [f"{NOT_CHECKED}: the dialplan context {context}: {listing.refused}"]
    if not listing.found:
        return [
            f"the dialplan has no context {context} (CALLASSIST_CALLBACK_CONTEXT): callbacks "
            "would fail; add it (see telephony/asterisk/extensions.conf)"
        ]
    if not any(
        extension_matches(pattern, number)
        for pattern in listing.extensions
        for number in CUSTOMER_NUMBERS
    ):
        samples = " or ".join(CUSTOMER_NUMBERS)
        return [
            f"the dialplan context {context} has no extension for a customer's number (such as "
            f"{samples}): callbacks would fail; add `exten => _X.` and `_+X.` "
            "(see telephony/asterisk/extensions.conf)"
        ]
    return []


def _probe_problems(listing: Listing, extension: str) -> list[str]:
    if listing.refused is not None:
        return [f"{NOT_CHECKED}: the probe extension {extension}: {listing.refused}"]
    if not listing.found:
        return [
            f"the dialplan has no extension {extension} (CALLASSIST_PROBE_EXTENSION): the line "
            "check would fail; add it to the probe's context "
            "(see telephony/asterisk/pjsip_probe.conf)"
        ]
    return []


def read_commands(reply: Mapping[str, str]) -> set[str] | None:
    """ListCommands' one response: ``Name: Synopsis (Priv: ...)`` per permitted action."""
    if reply.get("Response") != "Success":
        return None
    return {key for key in reply if key not in ("Response", "ActionID", "Message")}


def read_listing(replies: Iterable[Mapping[str, str]]) -> Listing:
    """ShowDialPlan's answer: an event list, or an error that says what was not found."""
    answers = list(replies)
    if not answers:
        return Listing(found=False, refused="no answer")
    first = answers[0]
    if first.get("Response") == "Success":
        extensions = (a.get("Extension", "") for a in answers if a.get("Event") == "ListDialplan")
        return Listing(found=True, extensions=tuple(e for e in extensions if e))
    message = first.get("Message", "")
    if message.startswith("Did not find") or message == "No dialplan":
        return Listing(found=False)
    return Listing(found=False, refused=_refusal(message))


def _refusal(message: str) -> str:
    if message == "Permission denied":
        return (
            "the AMI user may not send ShowDialPlan (add `reporting` to its write classes "
            "in manager.conf)"
        )
    return f"the PBX answered ShowDialPlan with {message or 'an error'!r}"


def extension_matches(pattern: str, number: str) -> bool:
    """Asterisk's extension matching: ``_`` patterns (X, Z, N, [..], ``.``, ``!``) or equal."""
    if not pattern.startswith("_"):
        return pattern == number
    return re.fullmatch(_pattern_regex(pattern[1:]), number) is not None


def _pattern_regex(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "[":
            end = pattern.find("]", index)
            if end < 0:
                return r"(?!)"  # Asterisk refuses an unclosed class: it matches nothing
            out.append("[" + re.sub(r"([\\^\]])", r"\\\1", pattern[index + 1 : end]) + "]")
            index = end + 1
            continue
        out.append(_PATTERN_CHARS.get(char.upper(), re.escape(char)))
        index += 1
    return "".join(out)


_PATTERN_CHARS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}


# -- the adapter: asks the PBX -------------------------------------------------------------


class PbxChecker:
    """Runs the check after every login of the link (and now and then in between)."""

    def __init__(
        self,
        link: PbxLink,
        expect: Expectations,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._link = link
        self._expect = expect
        self._clock = clock
        configured = pbx_configured(link)
        why = "the AMI link has not logged in yet" if configured else "no PBX is configured"
        self.result = not_checked(why)

    @classmethod
    def from_settings(cls, settings: Settings, link: PbxLink) -> PbxChecker:
        probe = settings.probe_extension if settings.probe_server else None
        return cls(link, Expectations(settings.callback_context, probe))

    async def run(
        self,
        every: float = WATCH_EVERY,
        recheck_every: float = RECHECK_EVERY,
    ) -> None:
        """Check once per login (``connected_since`` changes with each) and every so often."""
        checked_login: float | None = None
        checked_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            link = self._link
            since = link.state.connected_since
            due = since != checked_login or loop.time() - checked_at >= recheck_every
            if since is not None and due:
                checked_login, checked_at = since, loop.time()
                await self.check()
            await asyncio.sleep(every)

    async def check(self) -> PbxCheck:
        """Ask the PBX and keep the verdict; a check that cannot run says why."""
        try:
            self.result = await self._ask()
        except AmiError as error:
            self.result = not_checked(str(error), self._clock())
        if self.result.ok:
            log.info("PBX check passed")
        else:
            for problem in self.result.problems:
                log.warning("PBX check: %s", problem)
        return self.result

    async def _ask(self) -> PbxCheck:
        link = self._link
        if not pbx_configured(link):
            return not_checked("no PBX is configured", self._clock())
        reply = await link.send(actions.list_commands(), answer_within=ANSWER_WITHIN)
        commands = read_commands(reply.headers)
        callback = await self._dialplan(link, self._expect.callback_context, None)
        probe = None
        if self._expect.probe_extension is not None:
            probe = await self._dialplan(link, None, self._expect.probe_extension)
        return assess(commands, callback, probe, self._expect, self._clock())

    async def _dialplan(self, link: PbxLink, context: str | None, extension: str | None) -> Listing:
        action = actions.show_dialplan(context, extension)
        reply = await link.send(action, answer_within=ANSWER_WITHIN)
        return read_listing(reply.messages)
