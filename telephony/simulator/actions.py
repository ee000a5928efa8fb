"""The AMI actions the simulator answers, with Asterisk 22's replies, word for word.

Each handler takes the session the action came on and the action's headers, writes the
reply, and says whether the session goes on (False: Asterisk closes the connection, after a
failed Login or a Logoff). Texts and field orders are manager.c's, so a client tested here
parses what the real PBX sends, errors included.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.calls.causes import CAUSES
from telephony.simulator import messages
from telephony.simulator.channels import SNAPSHOT_FIELDS, Channel, duration_text
from telephony.simulator.contacts import contact_list_fields
from telephony.simulator.delivery import parse_event_mask
from telephony.simulator.endpoints import device_states, show_endpoint, show_endpoints
from telephony.simulator.messages import Action, Field, error, header, success

if TYPE_CHECKING:
    from telephony.simulator.session import AmiSession

Handler = Callable[["AmiSession", Action], Awaitable[bool]]

# What Asterisk lets an unauthenticated session do; anything else is "Permission denied".
_BEFORE_LOGIN = frozenset({"login", "logoff", "challenge"})
_NORMAL_CLEARING = 16
_LIST_COMMANDS_HINT = "Use Action: ListCommands to show available commands."


async def dispatch(session: AmiSession, action: Action) -> bool:
    """Answer one action; False when the session must be closed."""
    name = header(action, "Action")
    if not name:
        session.send(error(action, "Missing action in request"))
        return True
    key = name.lower()
    if not session.logged_in and key not in _BEFORE_LOGIN:
        session.send(error(action, "Permission denied"))
        return True
    handler = _HANDLERS.get(key)
    if handler is None:
        session.send(error(action, f"Invalid/unknown command: {name}. {_LIST_COMMANDS_HINT}"))
        return True
    if not _permitted(session, key):
        session.send(error(action, "Permission denied"))
        return True
    return await handler(session, action)


def _permitted(session: AmiSession, key: str) -> bool:
    """manager.c's test: an action of no class anyone may send; another when the user's
    write classes hold ANY of its classes (``writeperm & authority``), not all of them."""
    return permits(session.server.write_classes, ACTIONS[key].privilege)


def permits(write_classes: Iterable[str], privilege: str) -> bool:
    """Would a user with these ``write =`` classes be let send an action of ``privilege``
    (ListCommands' ``Priv:`` text, ``all`` included)? ``all`` in write is every class."""
    classes = set(privilege.split(",")) - {"all", ""}
    if not classes:
        return True
    granted = set(write_classes)
    return "all" in granted or bool(classes & granted)


async def _login(session: AmiSession, action: Action) -> bool:
    if session.logged_in:
        session.send(success(action, "Already authenticated"))
        return True
    if not _credentials_match(session, action):
        session.send(error(action, "Authentication failed"))
        return False
    mask = parse_event_mask(header(action, "Events"))
    if mask is not None:
        session.event_mask = mask
    session.send(success(action, "Authentication accepted"))
    if "system" in session.event_mask:  # manager.c action_login: only with system events
        session.send(_fully_booted(session.server.uptime))
    session.logged_in = True
    session.count_login()
    return True


def _credentials_match(session: AmiSession, action: Action) -> bool:
    """Plain Secret, or MD5 of the session's challenge + secret (``AuthType: MD5``)."""
    server = session.server
    if header(action, "Username").lower() != server.username.lower():
        return False
    if header(action, "AuthType").lower() == "md5":
        if not session.challenge:
            return False
        expected = hashlib.md5(  # AMI's challenge scheme is MD5 by definition
            (session.challenge + server.secret).encode("utf-8")
        ).hexdigest()
        return secrets.compare_digest(header(action, "Key").lower(), expected)
    return secrets.compare_digest(header(action, "Secret"), server.secret)


def _fully_booted(uptime: int) -> bytes:
    return messages.encode(
        [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", str(uptime)),
            ("LastReload", str(uptime)),
            ("Status", "Fully Booted"),
        ]
    )


async def _challenge(session: AmiSession, action: Action) -> bool:
    if header(action, "AuthType").lower() != "md5":
        session.send(error(action, "Must specify AuthType"))
        return True
    if not session.challenge:
        session.challenge = str(secrets.randbelow(2**31))
    session.send(messages.response(action, "Success", ("Challenge", session.challenge)))
    return True


async def _logoff(session: AmiSession, action: Action) -> bool:
    session.send(messages.response(action, "Goodbye", message="Thanks for all the fish."))
    return False


async def _ping(session: AmiSession, action: Action) -> bool:
    if session.server.answer_pings:
        pong = ("Ping", "Pong"), ("Timestamp", messages.stamp(time.time()))
        session.send(messages.response(action, "Success", *pong))
    return True


async def _events(session: AmiSession, action: Action) -> bool:
    mask = parse_event_mask(header(action, "EventMask"))
    if mask is None:
        session.send(error(action, "Invalid event mask"))
        return True
    session.event_mask = mask
    state = "On" if mask else "Off"
    session.send(messages.response(action, "Success", ("Events", state)))
    session.count_login()
    return True


async def _filter(session: AmiSession, action: Action) -> bool:
    if header(action, "Operation").lower() != "add":
        session.send(error(action, "Unknown operation"))
        return True
    try:
        session.event_filters.add(header(action, "Filter"))
    except re.error:
        message = "Filter did not compile.  Check the syntax of the filter given."
        session.send(error(action, message))
        return True
    session.send(success(action, "Filter Added Successfully"))
    return True


async def _core_status(session: AmiSession, action: Action) -> bool:
    """manager.c action_corestatus: start and last reload in the PBX's local time, fields in
    its order, no Message. Nothing is ever reloaded here: the reload is the start."""
    server = session.server
    started = time.localtime(server.started_at)
    day, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
    fields = (
        ("CoreStartupDate", day),
        ("CoreStartupTime", clock),
        ("CoreReloadDate", day),
        ("CoreReloadTime", clock),
        ("CoreCurrentCalls", str(len(server.channels.table))),
        ("CoreProcessedCalls", str(server.channels.created)),
    )
    session.send(messages.response(action, "Success", *fields))
    return True


async def _core_show_channels(session: AmiSession, action: Action) -> bool:
    live = session.server.channels
    now = time.monotonic()
    rows = [
        messages.list_item(
            "CoreShowChannel", action, _core_show_fields(channel, live.age(uid, now))
        )
        for uid, channel in live.table.items()
    ]
    session.send(
        messages.event_list(action, "Channels will follow", "CoreShowChannelsComplete", rows)
    )
    return True


def _core_show_fields(channel: Channel, age: int) -> list[Field]:
    return [
        *_snapshot(channel),
        ("Application", channel["Application"]),
        ("ApplicationData", channel["ApplicationData"]),
        ("Duration", duration_text(age)),
        ("BridgeId", channel["BridgeId"]),
    ]


async def _status(session: AmiSession, action: Action) -> bool:
    live = session.server.channels
    wanted = header(action, "Channel")
    channels = list(live.table.values())
    if wanted:
        found = live.find(wanted)
        if found is None:
            session.send(error(action, "No such channel"))
            return True
        channels = [found]
    now = time.monotonic()
    rows = [_status_event(action, ch, live.age(ch["Uniqueid"], now)) for ch in channels]
    items = ("Items", str(len(rows)))
    status = messages.event_list(
        action, "Channel status will follow", "StatusComplete", rows, items
    )
    session.send(status)
    return True


def _status_event(action: Action, channel: Channel, age: int) -> bytes:
    """One ``Event: Status``; the media fields are what a PCMU-only PJSIP lab reports."""
    action_id = header(action, "ActionID")
    return messages.encode(
        [
            ("Event", "Status"),
            ("Privilege", "Call"),
            *_snapshot(channel),
            ("Type", channel["Channel"].partition("/")[0]),
            ("DNID", ""),
            ("EffectiveConnectedLineNum", channel["ConnectedLineNum"]),
            ("EffectiveConnectedLineName", channel["ConnectedLineName"]),
            ("TimeToHangup", "0"),
            ("BridgeID", channel["BridgeId"]),
            ("Application", channel["Application"]),
            ("Data", channel["ApplicationData"]),
            ("Nativeformats", "(ulaw)"),
            ("Readformat", "ulaw"),
            ("Readtrans", ""),
            ("Writeformat", "ulaw"),
            ("Writetrans", ""),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", str(age)),
            *([("ActionID", action_id)] if action_id else []),
        ]
    )


def _snapshot(channel: Channel) -> list[Field]:
    return [(key, channel[key]) for key in SNAPSHOT_FIELDS]


async def _pjsip_show_contacts(session: AmiSession, action: Action) -> bool:
    """Every registered contact, one ContactList event each (res_pjsip's ami_show_contacts)."""
    rows = [
        messages.list_item("ContactList", action, contact_list_fields(contact))
        for contact in session.server.contacts
    ]
    intro = "A listing of Contacts follows, presentation of each contact will be sent as an event"
    session.send(messages.event_list(action, intro, "ContactListComplete", rows))
    return True


async def _device_state_list(session: AmiSession, action: Action) -> bool:
    """res_manager_devicestate.c: the device state cache, one DeviceStateChange each (no
    Privilege header: the rows are appended to the reply, not sent as events)."""
    server = session.server
    rows = [
        messages.list_item("DeviceStateChange", action, [("Device", device), ("State", state)])
        for device, state in device_states(server.contacts, server.channels.table.values())
    ]
    intro = "Device State Changes will follow"
    session.send(messages.event_list(action, intro, "DeviceStateListComplete", rows))
    return True


async def _originate(session: AmiSession, action: Action) -> bool:
    """Acknowledged at once; the call's own events are the ``on_originate`` hook's job."""
    channel = header(action, "Channel")
    if not channel:
        session.send(error(action, "Channel not specified"))
        return True
    if "/" not in channel:
        session.send(error(action, "Invalid channel"))
        return True
    if session.server.answer_originates:
        session.send(success(action, "Originate successfully queued"))
    session.server.originate_requested(action)
    return True


async def _hangup(session: AmiSession, action: Action) -> bool:
    """Acknowledge, then emit the channel's Hangup (which also drops it from the live list)."""
    name = header(action, "Channel")
    if not name:
        session.send(error(action, "No channel specified"))
        return True
    channel = session.server.channels.find(name)
    if channel is None:
        session.send(error(action, "No such channel"))
        return True
    session.send(success(action, "Channel Hungup"))
    cause = _cause(header(action, "Cause"))
    cause_text = CAUSES[cause].text if cause in CAUSES else "Unknown"
    await session.server.emit(
        {
            "Event": "Hangup",
            "Privilege": "call,all",
            **dict(_snapshot(channel)),
            "Cause": str(cause),
            "Cause-txt": cause_text,
        }
    )
    return True


def _cause(text: str) -> int:
    """Asterisk ignores a Cause outside 1-127 and hangs up with the channel's own cause."""
    try:
        cause = int(text)
    except ValueError:
        return _NORMAL_CLEARING
    return cause if 0 < cause <= 127 else _NORMAL_CLEARING


async def _redirect(session: AmiSession, action: Action) -> bool:
    """Move the channel's dialplan position; the dialplan it lands in is not simulated."""
    name, context, exten, priority = (
        header(action, key) for key in ("Channel", "Context", "Exten", "Priority")
    )
    problem = _redirect_problem(name, context, exten, priority)
    if problem:
        session.send(error(action, problem))
        return True
    channel = session.server.channels.find(name)
    if channel is None:
        session.send(error(action, f"Channel does not exist: {name}"))
        return True
    channel.update(Context=context, Exten=exten, Priority=priority)
    session.send(success(action, "Redirect successful"))
    return True


def _redirect_problem(name: str, context: str, exten: str, priority: str) -> str | None:
    for value, what in ((name, "Channel"), (context, "Context"), (exten, "Exten")):
        if not value:
            return f"{what} not specified"
    if not priority:
        return "Priority not specified"
    if not priority.isdigit() or int(priority) < 1:
        return "Priority is invalid"  # no dialplan here to look a label up in
    return None


async def _list_commands(session: AmiSession, action: Action) -> bool:
    """One response, a ``Name: Synopsis (Priv: classes)`` header per action the user may send."""
    rows = [
        (known.name, f"{known.synopsis} (Priv: {known.privilege or '<none>'})")
        for key, known in ACTIONS.items()
        if _permitted(session, key)
    ]
    session.send(messages.response(action, "Success", *rows))
    return True


async def _show_dialplan(session: AmiSession, action: Action) -> bool:
    """pbx.c's manager_show_dialplan: a ListDialplan event per extension (priority 1 only)."""
    context, exten = header(action, "Context"), header(action, "Extension")
    dialplan = session.server.dialplan
    if context and context not in dialplan:
        session.send(error(action, f"Did not find context {context}"))
        return True
    contexts = [context] if context else sorted(dialplan)
    found = [
        (name, extension)
        for name in contexts
        for extension in sorted(dialplan[name])
        if not exten or _extension_matches(extension, exten)
    ]
    if exten and not found:
        where = f"{exten}@{context}" if context else f"{exten} in any context"
        session.send(error(action, f"Did not find extension {where}"))
        return True
    if not found:
        session.send(error(action, "No dialplan"))
        return True
    rows = [messages.list_item("ListDialplan", action, _dialplan_fields(*row)) for row in found]
    counts = (
        ("ListExtensions", str(len(rows))),
        ("ListPriorities", str(len(rows))),
        ("ListContexts", str(len({name for name, _ in found}))),
    )
    intro = "DialPlan list will follow"
    session.send(messages.event_list(action, intro, "ShowDialPlanComplete", rows, *counts))
    return True


def _dialplan_fields(context: str, extension: str) -> list[Field]:
    return [
        ("Context", context),
        ("Extension", extension),
        ("Priority", "1"),
        ("Application", "NoOp"),
        ("AppData", ""),
        ("Registrar", "pbx_config"),
    ]


def _extension_matches(pattern: str, number: str) -> bool:
    """Asterisk's pattern matching, enough for the simulated dialplan: X Z N [..] . !"""
    if not pattern.startswith("_"):
        return pattern == number
    classes = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}
    parts = re.findall(r"\[[^\]]*\]|.", pattern[1:])
    regex = "".join(
        part if part.startswith("[") else classes.get(part.upper(), re.escape(part))
        for part in parts
    )
    return re.fullmatch(regex, number) is not None


@dataclass(frozen=True, slots=True)
class KnownAction:
    """An action as ListCommands shows it; ``privilege`` empty: anyone may send it."""

    name: str
    synopsis: str
    privilege: str


_KNOWN = (
    KnownAction("Login", "Login Manager.", ""),
    KnownAction("Challenge", "Generate Challenge for MD5 Auth.", ""),
    KnownAction("Logoff", "Logoff Manager.", ""),
    KnownAction("Ping", "Keepalive command.", ""),
    KnownAction("Events", "Control Event Flow.", ""),
    KnownAction("ListCommands", "List available manager commands.", ""),
    KnownAction("Filter", "Dynamically add filters for the current manager session.", "system,all"),
    KnownAction("DeviceStateList", "List the current known device states.", "call,reporting,all"),
    KnownAction("CoreStatus", "Show PBX core status variables.", "system,reporting,all"),
    KnownAction("CoreShowChannels", "List currently active channels.", "system,reporting,all"),
    KnownAction("Status", "List channel status.", "system,call,reporting,all"),
    KnownAction("Originate", "Originate a call.", "originate,all"),
    KnownAction("PJSIPShowContacts", "Lists PJSIP Contacts.", "system,all"),
    KnownAction("PJSIPShowEndpoints", "Lists PJSIP endpoints.", "system,all"),
    KnownAction(
        "PJSIPShowEndpoint", "Detail listing of an endpoint and its objects.", "system,all"
    ),
    KnownAction("Hangup", "Hangup channel.", "system,call,all"),
    KnownAction("Redirect", "Redirect (transfer) a call.", "call,all"),
    KnownAction("ShowDialPlan", "Show dialplan contexts and extensions", "config,reporting,all"),
)
ACTIONS = {known.name.lower(): known for known in _KNOWN}

_HANDLERS: dict[str, Handler] = {
    "login": _login,
    "challenge": _challenge,
    "logoff": _logoff,
    "ping": _ping,
    "events": _events,
    "filter": _filter,
    "corestatus": _core_status,
    "coreshowchannels": _core_show_channels,
    "status": _status,
    "originate": _originate,
    "pjsipshowcontacts": _pjsip_show_contacts,
    "devicestatelist": _device_state_list,
    "pjsipshowendpoints": show_endpoints,
    "pjsipshowendpoint": show_endpoint,
    "hangup": _hangup,
    "redirect": _redirect,
    "listcommands": _list_commands,
    "showdialplan": _show_dialplan,
}
