"""Events that label a call without changing who talks: the queue it joined (QueueCallerJoin),
the queue giving up on it, its recording's file and the CALLASSIST_* tags the service set on
its legs (VarSet)."""

from __future__ import annotations

from telephony.calls.book import CallBook, Handler
from telephony.calls.model import AmiHeaders

TAG_PREFIX = "CALLASSIST_"  # channel variables callassist sets on the calls it places
# QUEUESTATUS values with which Queue() gives up on a caller (app_queue's docs); the others
# are CONTINUE (an agent hung up, the dialplan goes on) and ABANDON or none (the caller left).
QUEUE_GAVE_UP = frozenset(
    {"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL"}
)


def on_queue_caller_join(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    found = book.channel_of(event, at)
    if found is not None and found[1].queue is None:
        found[1].queue = event.get("Queue") or None


def on_var_set(book: CallBook, event: AmiHeaders, at: float | None) -> None:
    variable = event.get("Variable", "")
    if variable == "MIXMONITOR_FILENAME":
        _, call = book.lookup(event.get("Uniqueid"))
        if call is not None and call.recording is None:
            call.recording = event.get("Value") or None
    elif variable == "QUEUESTATUS":
        channel, _ = book.lookup(event.get("Uniqueid"))
        # the queue gave up first only if the caller had not already asked to leave
        if channel is not None and channel.request is None:
            channel.queue_gave_up |= event.get("Value") in QUEUE_GAVE_UP
    elif variable.startswith(TAG_PREFIX):
        _, call = book.lookup(event.get("Uniqueid"))
        if call is not None:
            call.tags[variable] = event.get("Value", "")


HANDLERS: dict[str, Handler] = {
    "QueueCallerJoin": on_queue_caller_join,
    "VarSet": on_var_set,
}
