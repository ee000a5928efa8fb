"""The screen-pop ledger: which pops each agent's console acknowledged, which to send again,
and which never reached the agent.

A pop is the ``call.ringing`` or ``call.answered`` message for the agent whose phone it is.
The hub only queues messages; a browser tab that froze, or a link that broke after the
message left, loses it without anyone noticing. So the console acknowledges every pop, an
unacknowledged one is sent again, and when the call ends, an agent none of whose pops for
that call was acknowledged is counted as missed: on the call record and in the metrics.
Synchronous and clock-free (time comes in), like the rest of the core.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

# Seconds from the AMI frame reaching the service to the console's acknowledgement.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class Pop:
    message: dict[str, Any]  # as published, with its id
    call_id: str
    endpoint: str
    received: float  # when the AMI frame behind it reached the service
    sent_at: float
    resends: int = 0


@dataclass(slots=True)
class Latency:
    """A cumulative histogram, the shape Prometheus wants."""

    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    total: int = 0
    sum: float = 0.0

    def observe(self, seconds: float) -> None:
        self.total += 1
        self.sum += seconds
        for index in range(bisect_left(LATENCY_BUCKETS, seconds), len(LATENCY_BUCKETS)):
            self.counts[index] += 1


@dataclass(frozen=True, slots=True)
class MissedPop:
    call_id: str
    endpoint: str
    reason: str  # "not acknowledged" or "no console connected"


@dataclass(slots=True)
class _AgentPops:
    """One agent's pops for one call."""

    shown: bool = False  # some console of the agent was connected when one left
    reached: bool = False  # one of them was acknowledged
    waiting: list[int] = field(default_factory=list)  # message ids not acknowledged


class PopLedger:
    def __init__(self, ack_within: float = 2.0, max_resends: int = 3) -> None:
        self.ack_within = ack_within
        self.max_resends = max_resends
        self._waiting: dict[int, Pop] = {}  # message id -> pop not yet acknowledged
        self._calls: dict[str, dict[str, _AgentPops]] = {}  # call_id -> endpoint -> its pops
        self.delivered = 0
        self.missed = 0
        self.resent = 0
        self.latency = Latency()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def sent(
        self,
        message: dict[str, Any],
        call_id: str,
        endpoint: str,
        *,
        received: float,
        at: float,
        listeners: int,
    ) -> None:
        """A pop left for ``listeners`` consoles of this agent (0: none is connected)."""
        pops = self._calls.setdefault(call_id, {}).setdefault(endpoint, _AgentPops())
        pops.shown = pops.shown or listeners > 0
        self._waiting[message["id"]] = Pop(message, call_id, endpoint, received, at)
        pops.waiting.append(message["id"])

    def acked(self, message_id: int, endpoint: str | None, at: float) -> bool:
        """A console acknowledged a message; only the pop's own agent's acknowledgement counts."""
        pop = self._waiting.get(message_id)
        if pop is None or pop.endpoint != endpoint:
            return False
        del self._waiting[message_id]
        pops = self._calls[pop.call_id][pop.endpoint]
        pops.reached = True
        pops.waiting.remove(message_id)
        self.delivered += 1
        self.latency.observe(max(0.0, at - pop.received))
        return True

    def due(self, now: float) -> list[Pop]:
        """Pops to send again now; each goes out at most ``max_resends`` more times."""
        due = []
        for pop in self._waiting.values():
            if pop.resends < self.max_resends and now - pop.sent_at >= self.ack_within:
                pop.resends += 1
                pop.sent_at = now
                self.resent += 1
                due.append(pop)
        return due

    def settle(self, call_id: str) -> list[MissedPop]:
        """The call ended: forget its pops, and say which agents never had one."""
        missed = []
        for endpoint, pops in self._calls.pop(call_id, {}).items():
            for waiting_id in pops.waiting:
                self._waiting.pop(waiting_id, None)
            if not pops.reached:
                reason = "not acknowledged" if pops.shown else "no console connected"
                missed.append(MissedPop(call_id, endpoint, reason))
        self.missed += len(missed)
        return missed
