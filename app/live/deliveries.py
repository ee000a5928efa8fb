"""A live message and who it is for, as plain data: what the hub hands its own consoles and
what it sends to the other instances through Redis (app/live/relay.py).

The audience travels with the message, not the list of recipients: each instance knows only
its own consoles, so each picks its recipients itself from the audience. A message for
``each`` client (the calls it may see after the PBX link came back) carries every call with
its parties, and each instance keeps for each console only that console's calls.

Also here: what a message changes in the owner's live view (``ViewChange``), which the relay
keeps beside the messages so that an instance that does not own the PBX can give a console
a snapshot. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from app.pbxes.ids import DEFAULT_PBX, split_call_id

SLOTS = 1024  # instances told apart in message ids (app/live/hub.py, app/live/relay.py)
AudienceKind = Literal["all", "parties", "roles", "user", "agents", "each", "per_agent", "logins"]
KINDS: frozenset[str] = frozenset(AudienceKind.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who gets a message.

    - ``all``: every client.
    - ``parties``: the roles that see every call, and the agents at ``endpoints``.
    - ``roles``: clients of ``roles``, and the agents at ``endpoints`` (incidents, lines).
    - ``user``: the consoles of ``username`` (their other tabs).
    - ``agents``: the consoles at ``endpoints`` only (a pop sent again).
    - ``each``: every client, the message's ``calls`` cut to what that client may see.
    - ``per_agent``: the consoles of each agent the message's ``per_agent`` names, each
      with its own part of it (a line fault's calls at that agent's phone): one delivery
      for a thousand agents, not a thousand.
    - ``logins``: no message: the logins of ``username`` (one token, or all) were ended.

    ``pbx``: the message is about that PBX only (one of its calls, its link), so of the
    agents only those whose phone is on it get it: an endpoint is named per PBX.
    """

    kind: AudienceKind
    endpoints: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    username: str | None = None
    token_id: str | None = None
    pbx: str | None = None

    def reaches_agent_on(self, pbx: str) -> bool:
        return self.pbx is None or self.pbx == pbx


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message and its audience. ``text`` is the message as JSON, encoded once for every
    console and every instance (a delivery read off the wire has the text only, unless its
    audience cuts the message per console)."""

    audience: Audience
    message: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    @classmethod
    def of(cls, audience: Audience, message: dict[str, Any]) -> Delivery:
        return cls(audience, message, json.dumps(message, ensure_ascii=False))

    def to_wire(self, origin: str) -> str:
        """Three lines: the instance it comes from (which skips its own without decoding
        anything), the audience, the message's text as it was encoded here."""
        audience = self.audience
        to = {
            "kind": audience.kind,
            "endpoints": list(audience.endpoints),
            "roles": list(audience.roles),
            "username": audience.username,
            "token_id": audience.token_id,
            "pbx": audience.pbx,
        }
        return f"{origin}\n{json.dumps(to, ensure_ascii=False)}\n{self.text or '{}'}"


class NotADelivery(ValueError):
    """A frame on the live channel that is not one of ours (another version, a stray
    PUBLISH): counted and skipped, never delivered half-read."""


CUT_PER_CONSOLE = frozenset({"each", "per_agent"})  # audiences whose message is read here


def origin_of(wire: bytes) -> bytes:
    """The instance a delivery comes from, read without decoding the rest."""
    return wire.partition(b"\n")[0]


def read_delivery(wire: str | bytes) -> Delivery:
    """The delivery of a wire form (``Delivery.to_wire``)."""
    text = wire.decode() if isinstance(wire, bytes) else wire
    try:
        _origin, to_text, message_text = text.split("\n", 2)
        to = json.loads(to_text)
        kind = to["kind"]
        if kind not in KINDS:
            raise NotADelivery(f"unknown audience {kind!r}")
        audience = Audience(
            kind,
            endpoints=tuple(str(e) for e in to.get("endpoints") or ()),
            roles=tuple(str(r) for r in to.get("roles") or ()),
            username=to.get("username"),
            token_id=to.get("token_id"),
            pbx=to.get("pbx"),
        )
        message = json.loads(message_text) if kind in CUT_PER_CONSOLE else {}
        if not isinstance(message, dict):
            raise NotADelivery("the message is not a JSON object")
        return Delivery(audience, message, message_text)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise NotADelivery(str(error)) from error


def calls_for(calls: list[dict[str, Any]], role: str, endpoint: str | None) -> list[dict[str, Any]]:
    """The calls a client may see: all of them but for an agent, who sees the calls their
    own phone is a party to (the rule of app/records/query.py's Viewer)."""
    if role != "agent":
        return calls
    return [call for call in calls if endpoint is not None and endpoint in call.get("parties", ())]


@dataclass(frozen=True, slots=True)
class ViewChange:
    """What a message changes in the owner's live view: calls set or gone, all of them
    replaced (the list after a login), the PBX link's state."""

    put: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: tuple[str, ...] = ()
    replace: bool = False
    link: str | None = None
    pbx: str = DEFAULT_PBX  # whose view it changes

    @property
    def empty(self) -> bool:
        return not (self.put or self.gone or self.replace or self.link)


def view_change(message: dict[str, Any]) -> ViewChange:
    """Read off the message the pipeline publishes: ``call.*`` with the call's view,
    ``call.ended`` with the ids merged into it, ``link.up`` with every call, ``link.down``."""
    kind = str(message.get("type", ""))
    pbx = str(message.get("pbx") or DEFAULT_PBX)
    if kind == "link.up" and isinstance(message.get("calls"), list):
        calls = {str(c["call_id"]): c for c in message["calls"] if "call_id" in c}
        return ViewChange(put=calls, replace=True, link="connected", pbx=pbx)
    if kind == "link.down":
        return ViewChange(link="down", pbx=pbx)
    if kind == "call.ended":
        call_id = str(message.get("call_id"))
        merged = tuple(str(m) for m in message.get("merged") or ())
        return ViewChange(gone=(call_id, *merged), pbx=split_call_id(call_id)[0])
    call = message.get("call")
    if kind.startswith("call.") and isinstance(call, dict) and "call_id" in call:
        call_id = str(call["call_id"])
        return ViewChange(put={call_id: call}, pbx=split_call_id(call_id)[0])
    return ViewChange()
