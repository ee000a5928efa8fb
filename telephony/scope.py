"""The ids of one PBX among several: ``north:1733490000.12`` instead of ``1733490000.12``.

Two Asterisks number their channels alike (a Uniqueid is the creation time and a counter,
``systemname-`` in front only where asterisk.conf sets one), so with several PBXs a
Linkedid alone does not name a call. A link whose PBX is not the default one puts its
PBX's name in front of every id it hands on, and takes it off again before an action goes
out: everything past the link (tracker, pipeline, records, pages) works with ids unique
across the PBXs, and the PBX only ever sees its own. The default PBX's ids go unchanged, so
a centre that had one PBX keeps its call ids when it adds another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar, cast

_V = TypeVar("_V")

SEPARATOR = ":"  # never in a PBX's name (app/pbxes/config.py refuses it)
# Headers an action names a channel or itself by: the callback's own ChannelId, Status's
# Channel (a Uniqueid there), the ActionID its OriginateResponse echoes.
_OUTWARD = ("ChannelId", "OtherChannelId", "Channel", "ActionID")


@dataclass(frozen=True, slots=True)
class IdScope:
    """``prefix`` is ``"<pbx>:"``, or empty for the default PBX (ids unchanged)."""

    prefix: str = ""

    @classmethod
    def of(cls, pbx: str | None) -> IdScope:
        return cls(f"{pbx}{SEPARATOR}" if pbx else "")

    def inward(self, headers: dict[str, str]) -> dict[str, str]:
        """An event's headers as the service sees them: every Uniqueid and Linkedid header
        (the channel's own and the ones AMI prefixes: Dest..., Transferer..., LocalOne...)
        and the ActionID an OriginateResponse echoes, each with the PBX's name in front. The
        default PBX's are the same dict: every event passes here, and most need nothing."""
        if not self.prefix:
            return headers
        return {name: self._in(name, value) for name, value in headers.items()}

    def outward(self, action: Mapping[str, _V]) -> dict[str, _V]:
        """An action as the PBX must get it: ids without the PBX's name."""
        if not self.prefix:
            return dict(action)
        return {name: self._out(name, value) for name, value in action.items()}

    def _out(self, name: str, value: _V) -> _V:
        if name in _OUTWARD and isinstance(value, str):
            return cast(_V, value.removeprefix(self.prefix))
        return value

    def _in(self, name: str, value: str) -> str:
        if not value or value.startswith(self.prefix):
            return value
        lowered = name.lower()
        if lowered.endswith(("uniqueid", "linkedid")) or lowered == "actionid":
            return self.prefix + value
        return value


NO_SCOPE = IdScope()  # the default PBX's: ids as the PBX gives them
