"""AMI actions the product sends, as header dicts, and the filters it installs at login."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ActionHeaders = Mapping[str, str | list[str]]

# Every event the product uses: the call tracker's, the line watch's and the link's own.
# The shipped manager.conf lets only these through (its eventfilter lines, made by
# manager_conf_filters; tests/unit/test_asterisk_configs.py compares them), and so does the
# link's own sieve (wire.EventSieve); tests/unit/test_link_filters.py keeps this list in step
# with the handlers.
WANTED_EVENTS = (
    "AgentCalled",
    "AgentComplete",
    "AgentConnect",
    "AttendedTransfer",
    "BlindTransfer",
    "BridgeDestroy",
    "BridgeEnter",
    "BridgeLeave",
    "ContactStatus",
    "DialBegin",
    "DialEnd",
    "FullyBooted",
    "Hangup",
    "HangupRequest",
    "Hold",
    "Newchannel",
    "Newstate",
    "OriginateResponse",
    "PeerStatus",
    "QueueCallerAbandon",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "RTCPReceived",
    "RTCPSent",
    "Registry",
    "Shutdown",
    "SoftHangupRequest",
    "Unhold",
)
# VarSet is half of all AMI traffic; only these variables matter (the recording's file name,
# and the variables callassist sets on the calls it places).
WANTED_VARIABLES = ("MIXMONITOR_FILENAME", "CALLASSIST_")
# Event classes (manager.conf "read" classes) those events belong to; RTCP is "reporting".
EVENT_CLASSES = "call,agent,system,dialplan,reporting"


def event_filters(events: Iterable[str], variables: Iterable[str]) -> list[str]:
    """Asterisk's legacy whitelist filters (POSIX extended regex over the whole event text),
    for the Filter action: sent only when the AMI user may (write class ``system``, which
    the shipped user does not have; its filters are manager.conf's).

    The legacy form works on every Asterisk since 10. POSIX regex has no \\r, so a name is
    ended by a non-letter instead: ``Hangup`` must not let ``HangupRequest`` through, and
    ``HangupRequest`` has its own alternative.
    """
    names = "|".join(sorted(events))
    filters = [f"Event: ({names})[^A-Za-z]"]
    wanted = "|".join(variables)
    if wanted:
        filters.append(f"Variable: ({wanted})")
    return filters


def manager_conf_filters(events: Iterable[str], variables: Iterable[str]) -> list[str]:
    """The same choice as manager.conf ``eventfilter`` lines, in the advanced form of
    Asterisk 22.1+ (also 21.6+ and 20.11+; main/manager.c ``manager_add_filter``).

    ``name(...)`` is compared by a hash of the event's name, no regex over the whole event:
    what the Asterisk sample recommends. ``Hangup`` lets no ``HangupRequest`` through (its own
    line does). VarSet only for the variables wanted, by the ``Variable`` header's start.
    """
    lines = [f"eventfilter(action(include),name({name})) =" for name in sorted(events)]
    for variable in variables:
        method = "starts_with" if variable.endswith("_") else "exact"
        lines.append(
            f"eventfilter(action(include),name(VarSet),header(Variable),method({method}))"
            f" = {variable}"
        )
    return lines


def login(username: str, secret: str) -> dict[str, str]:
    """A Login that leaves the session's events off (manager.c ``authenticate``: ``Events``
    sets the session's event mask, ``off`` none): Asterisk drops, and never queues, what a
    session's mask and filters refuse, so events on before the last Filter went in would come
    through some filters and not others, half a call. ``events`` turns them on afterwards."""
    return {"Action": "Login", "Username": username, "Secret": secret, "Events": "off"}


def events(event_classes: str) -> dict[str, str]:
    """Turn the session's events on for these classes (needs no write class). Asterisk
    answers ``Events: On``, or ``Off`` when the mask selects no class (manager.c
    ``action_events``). Classes, not ``on``: with manager.conf's ``brokeneventsaction`` a
    mask of every class gets no answer at all."""
    return {"Action": "Events", "EventMask": event_classes}


def add_filter(expression: str) -> dict[str, str]:
    return {"Action": "Filter", "Operation": "Add", "Filter": expression}


def ping() -> dict[str, str]:
    return {"Action": "Ping"}


def core_status() -> dict[str, str]:
    """When the PBX started (CoreStartupDate, CoreStartupTime, its local time); write class
    ``system`` or ``reporting``."""
    return {"Action": "CoreStatus"}


def core_show_channels() -> dict[str, str]:
    return {"Action": "CoreShowChannels"}


def pjsip_show_contacts() -> dict[str, str]:
    """Every registered PJSIP contact with its qualify status (ContactList events)."""
    return {"Action": "PJSIPShowContacts"}


def pjsip_show_endpoints() -> dict[str, str]:
    """Every PJSIP endpoint with its contacts, static ones too (EndpointList events)."""
    return {"Action": "PJSIPShowEndpoints"}


def pjsip_show_endpoint(endpoint: str) -> dict[str, str]:
    """One endpoint's objects; each of its contacts, static ones too, with its qualify
    status (ContactStatusDetail events). ``endpoint`` is the id: ``carrier``."""
    return {"Action": "PJSIPShowEndpoint", "Endpoint": endpoint}


def device_state_list() -> dict[str, str]:
    """Every device state Asterisk has cached (DeviceStateChange events): for a PJSIP
    endpoint, UNAVAILABLE while none of its contacts is available. Write class ``call`` or
    ``reporting`` (res_manager_devicestate.c), unlike the PJSIPShow* actions' ``system``."""
    return {"Action": "DeviceStateList"}


def list_commands() -> dict[str, str]:
    """The actions this AMI user may send: Asterisk lists only what its write classes permit."""
    return {"Action": "ListCommands"}


def show_dialplan(context: str | None = None, extension: str | None = None) -> dict[str, str]:
    """A context's extensions, or where an extension is (no context: every context)."""
    action = {"Action": "ShowDialPlan"}
    if context:
        action["Context"] = context
    if extension:
        action["Extension"] = extension
    return action


def originate(
    *,
    channel: str,
    context: str,
    exten: str,
    caller_id: str,
    channel_id: str,
    variables: Mapping[str, str] | None = None,
    timeout_ms: int = 30000,
) -> dict[str, str | list[str]]:
    """An asynchronous Originate carrying our own ChannelId (the new channel's Uniqueid).

    With the Uniqueid chosen by us, a restarted service can find the call it placed among the
    live channels instead of guessing; that is what makes a callback exactly-once.
    """
    action: dict[str, str | list[str]] = {
        "Action": "Originate",
        "Channel": channel,
        "Context": context,
        "Exten": exten,
        "Priority": "1",
        "CallerID": caller_id,
        "ChannelId": channel_id,
        "Timeout": str(timeout_ms),
        "Async": "true",
    }
    if variables:
        action["Variable"] = [f"{name}={value}" for name, value in variables.items()]
    return action


def check_headers(action: ActionHeaders) -> None:
    """Refuse a value that would end its line early: it could smuggle in a second action."""
    for key, value in action.items():
        values = value if isinstance(value, list) else [value]
        for text in [key, *values]:
            if "\r" in text or "\n" in text:
                raise ValueError(f"AMI header {key!r} holds a line break")
