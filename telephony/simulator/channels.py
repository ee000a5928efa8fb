"""The simulator's picture of the PBX's live channels, kept from the events it emits.

CoreShowChannels and Status answer from here, so what a client reconciles against after a
reconnect is exactly what the event stream it missed would have built. Every channel event
carries the channel's snapshot (state, caller ID, dialplan position), so any event about a
known Uniqueid refreshes it; the few events that change something outside the snapshot
(bridge, application, name) are handled by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# The channel snapshot block Asterisk 22 puts in channel events, in its order.
SNAPSHOT_FIELDS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
EXTRA_FIELDS = ("BridgeId", "Application", "ApplicationData")

Channel = dict[str, str]


class LiveChannels:
    def __init__(self) -> None:
        self.table: dict[str, Channel] = {}  # Uniqueid -> snapshot + EXTRA_FIELDS
        self._created: dict[str, float] = {}  # Uniqueid -> monotonic time of its Newchannel
        self.created = 0  # channels since the start (CoreStatus's CoreProcessedCalls)

    def observe(self, headers: Mapping[str, str], now: float) -> None:
        """Apply one emitted event; ``now`` is a monotonic clock reading."""
        uniqueid = headers.get("Uniqueid")
        if not uniqueid:
            return
        name = headers.get("Event", "")
        if name == "Newchannel":
            self._add(uniqueid, headers, now)
            return
        channel = self.table.get(uniqueid)
        if channel is None:
            return
        if name == "Hangup":
            del self.table[uniqueid]
            del self._created[uniqueid]
            return
        _refresh(channel, headers)
        update = _UPDATES.get(name)
        if update is not None:
            update(channel, headers)

    def find(self, name_or_uniqueid: str) -> Channel | None:
        """By Uniqueid, else by channel name (case-insensitive, as Asterisk looks names up)."""
        if name_or_uniqueid in self.table:
            return self.table[name_or_uniqueid]
        wanted = name_or_uniqueid.lower()
        for channel in self.table.values():
            if channel["Channel"].lower() == wanted:
                return channel
        return None

    def age(self, uniqueid: str, now: float) -> int:
        """Whole seconds since the channel's Newchannel."""
        return max(0, int(now - self._created.get(uniqueid, now)))

    def _add(self, uniqueid: str, headers: Mapping[str, str], now: float) -> None:
        channel = {key: headers.get(key, "") for key in SNAPSHOT_FIELDS}
        channel.update(dict.fromkeys(EXTRA_FIELDS, ""))
        self.table[uniqueid] = channel
        self._created[uniqueid] = now
        self.created += 1


def duration_text(seconds: int) -> str:
    """CoreShowChannel's ``Duration``: ``%02d:%02d:%02d``."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _refresh(channel: Channel, headers: Mapping[str, str]) -> None:
    for key in SNAPSHOT_FIELDS:
        if key in headers:
            channel[key] = headers[key]


def _enter_bridge(channel: Channel, headers: Mapping[str, str]) -> None:
    channel["BridgeId"] = headers.get("BridgeUniqueid", "")


def _leave_bridge(channel: Channel, headers: Mapping[str, str]) -> None:
    channel["BridgeId"] = ""


def _run_application(channel: Channel, headers: Mapping[str, str]) -> None:
    channel["Application"] = headers.get("Application", "")
    channel["ApplicationData"] = headers.get("AppData", "")


def _rename(channel: Channel, headers: Mapping[str, str]) -> None:
    if headers.get("Newname"):
        channel["Channel"] = headers["Newname"]


_UPDATES: dict[str, Callable[[Channel, Mapping[str, str]], None]] = {
    "BridgeEnter": _enter_bridge,
    "BridgeLeave": _leave_bridge,
    "Newexten": _run_application,
    "Rename": _rename,
}
