"""The pure core in one piece: AMI events in, call updates, fault signals and the PBX's
answers to our Originates out.

Replay and the live pipeline both feed this, so what a recorded stream yields offline is what
the service does with the same events live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from telephony.calls.model import AmiHeaders, CallEnded, CallUpdate, KnownCall
from telephony.calls.originate import OriginateAnswer, originate_answer
from telephony.calls.tracker import CallTracker
from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import FaultSignal, LineWatch, WatchRules

Signal = CallUpdate | FaultSignal | OriginateAnswer


class Switchboard:
    def __init__(self, trunks: TrunkPlan | None = None, rules: WatchRules | None = None) -> None:
        self.tracker = CallTracker(trunks)
        self.watch = LineWatch(rules)

    def feed(self, event: AmiHeaders, at: float | None) -> list[Signal]:
        signals: list[Signal] = []
        for update in self.tracker.feed(event, at):
            signals.append(update)
            if isinstance(update, CallEnded):
                signals += self.watch.call_ended(update)
        signals += self.watch.feed(event, at)
        answer = originate_answer(event, at)
        if answer is not None:
            signals.append(answer)
        return signals

    def fresh(self) -> Switchboard:
        """An empty switchboard with the same trunks and rules: a new term of ownership
        (app/ownership) takes the calls up from the database and the PBX, as a start does."""
        return Switchboard(self.tracker.trunks, self.watch.rules)

    def is_line_check(self, ended: CallEnded) -> bool:
        """The line probe's own call (see TrunkPlan.is_line_check): replayed like any call,
        but the service neither records nor announces it."""
        return self.tracker.trunks.is_line_check(leg.endpoint for leg in ended.legs)

    def expect_resync(self) -> None:
        """The link is logging in (again); see CallTracker.expect_resync."""
        self.tracker.expect_resync()

    def reconcile(
        self,
        live: Iterable[AmiHeaders],
        at: float | None,
        known: Mapping[str, KnownCall] | None = None,
    ) -> list[Signal]:
        signals: list[Signal] = []
        for update in self.tracker.reconcile(live, at, known):
            signals.append(update)
            if isinstance(update, CallEnded):
                signals += self.watch.call_ended(update)
        return signals
