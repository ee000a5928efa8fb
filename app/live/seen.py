"""What one desk has seen of the calls in progress, from its updates. PURE.

Each desk keeps its own, fed in the order the pipeline tells it, so what it decides (who is busy,
who waits in a queue, which calls a failing line carries) follows the same sequence of
events as everything else it did.
"""

from __future__ import annotations

from collections.abc import Iterator

from telephony.calls.model import CallEnded, LiveCall
from telephony.lines.watch import FAULT_STATES, RECOVERED, FaultSignal


class SeenCalls:
    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}
        self._faulted: set[str] = set()  # endpoints whose line is in a fault state

    def saw(self, live: LiveCall) -> None:
        self._calls[live.call_id] = live

    def ended(self, ended: CallEnded) -> None:
        """The call is over, and so are the calls merged into it (a consultation call)."""
        for call_id in (ended.call_id, *ended.merged):
            self._calls.pop(call_id, None)

    def only(self, call_ids: frozenset[str]) -> None:
        """After a relisting: the calls the PBX no longer has are over."""
        for call_id in [c for c in self._calls if c not in call_ids]:
            del self._calls[call_id]

    def fault(self, signal: FaultSignal) -> None:
        if signal.fault in FAULT_STATES:
            self._faulted.add(signal.location)
        elif signal.fault == RECOVERED:
            self._faulted.discard(signal.location)

    @property
    def calls(self) -> Iterator[LiveCall]:
        return iter(self._calls.values())

    def busy_agents(self) -> set[str]:
        """On a call or ringing for one, or with a faulty line."""
        busy = {party for live in self._calls.values() for party in live.parties}
        return busy | self._faulted

    def waiting_by_queue(self) -> dict[str, int]:
        """Customers in each queue that no agent has answered yet."""
        waiting: dict[str, int] = {}
        for live in self._calls.values():
            if live.queue is not None and live.answered_at is None:
                waiting[live.queue] = waiting.get(live.queue, 0) + 1
        return waiting

    def carried_by(self, location: str) -> dict[str, list[str]]:
        """The agents on calls over a line, with those calls: everyone on a call over the
        trunk, or the one agent whose own phone it is."""
        calls: dict[str, list[str]] = {}
        for live in self._calls.values():
            if location == live.trunk:
                affected: tuple[str, ...] = live.parties
            elif location in live.parties:
                affected = (location,)
            else:
                continue
            for agent in affected:
                calls.setdefault(agent, []).append(live.call_id)
        return calls
