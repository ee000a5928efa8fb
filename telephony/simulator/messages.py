"""AMI messages as the simulator writes and reads them, laid out the way Asterisk 22 does.

Asterisk writes ``Response:`` first, ``ActionID:`` only when the action carried one, then the
action's own fields; an event starts with ``Event:`` and ``Privilege:``, and with
``timestampevents=yes`` Asterisk puts ``Timestamp:`` right after ``Privilege:``. A client
should not depend on that order, but a wire-exact peer is what catches the ones that do.

Actions are parsed here rather than with ``telephony.ami.wire.parse_message``: that parser
only accepts frames that start with ``Event:`` or ``Response:`` (what a server sends), and
Asterisk takes an action's headers in any order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

Action = dict[str, str]
Field = tuple[str, str]

_LINE_BREAK = re.compile(r"\r?\n")


def encode(fields: Iterable[Field]) -> bytes:
    """One message: ``Key: Value`` lines and the empty line that ends it.

    A value holding newlines is a repeated header joined the way ``telephony.ami.wire`` joins
    them (``ChanVariable``, ``Variable``); it goes back out as one line per value.
    """
    lines = [f"{key}: {part}\r\n" for key, value in fields for part in value.split("\n")]
    return ("".join(lines) + "\r\n").encode("utf-8")


def header(action: Mapping[str, str], name: str) -> str:
    """The first header of that name, matched case-insensitively as Asterisk matches them."""
    wanted = name.lower()
    for key, value in action.items():
        if key.lower() == wanted:
            return value
    return ""


def parse_action(frame: bytes) -> Action:
    """Headers of one client message; lines without a colon are ignored, as Asterisk does."""
    action: Action = {}
    for line in _LINE_BREAK.split(frame.decode("utf-8", "replace")):
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or not key:
            continue
        value = value.lstrip(" \t")
        action[key] = f"{action[key]}\n{value}" if key in action else value
    return action


def stamp(epoch: float) -> str:
    """Asterisk's ``%ld.%06lu`` rendering of a wall-clock time."""
    return f"{epoch:.6f}"


def response(
    action: Mapping[str, str], status: str, *fields: Field, message: str | None = None
) -> bytes:
    """A reply to ``action``: its ActionID echoed, then ``fields``, then ``Message:``."""
    out: list[Field] = [("Response", status), *_action_id(action), *fields]
    if message is not None:
        out.append(("Message", message))
    return encode(out)


def success(action: Mapping[str, str], message: str) -> bytes:
    return response(action, "Success", message=message)


def error(action: Mapping[str, str], message: str) -> bytes:
    return response(action, "Error", message=message)


def list_start(action: Mapping[str, str], message: str) -> bytes:
    """The response that opens an event list (``astman_send_listack``)."""
    return response(action, "Success", ("EventList", "start"), message=message)


def list_item(event: str, action: Mapping[str, str], fields: Iterable[Field]) -> bytes:
    return encode([("Event", event), *_action_id(action), *fields])


def list_complete(event: str, action: Mapping[str, str], items: int, *extra: Field) -> bytes:
    """The event that closes an event list (``astman_send_list_complete_start``)."""
    return encode(
        [
            ("Event", event),
            *_action_id(action),
            ("EventList", "Complete"),
            ("ListItems", str(items)),
            *extra,
        ]
    )



def event_list(
    action: Mapping[str, str],
    message: str,
    complete: str,
    rows: Sequence[bytes],
    *extra: Field,
) -> bytes:
    """A whole event list as Asterisk sends it: the listack, the rows, the closing event."""
    closing = list_complete(complete, action, len(rows), *extra)
    return b"".join([list_start(action, message), *rows, closing])

def event(headers: Mapping[str, str], *, timestamp: float | None = None) -> bytes:
    """An event as sent; ``timestamp`` adds the header timestampevents=yes would add."""
    fields = list(headers.items())
    if timestamp is not None and "Timestamp" not in headers:
        fields.insert(_timestamp_position(fields), ("Timestamp", stamp(timestamp)))
    return encode(fields)


def _timestamp_position(fields: list[Field]) -> int:
    for index, (key, _) in enumerate(fields):
        if key == "Privilege":
            return index + 1
    return min(1, len(fields))


def _action_id(action: Mapping[str, str]) -> list[Field]:
    action_id = header(action, "ActionID")
    return [("ActionID", action_id)] if action_id else []
