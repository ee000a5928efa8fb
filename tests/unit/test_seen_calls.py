"""A desk's view of the calls in progress (app/live/seen.py), fed as the pipeline feeds it: a
snapshot of the call on every update, the end of the call on CallEnded."""

from __future__ import annotations

import pytest

from app.live.seen import SeenCalls
from telephony.calls.model import CallEnded
from telephony.calls.tracker import CallTracker
from telephony.calls.trunks import TrunkPlan
from tests.unit.fake_asterisk import TRUNK, FakeAsterisk, attended_transfer, hang_up_both


def desk_view(events: list[dict[str, str]]) -> tuple[SeenCalls, list[int]]:
    """What a desk sees of these events; how many calls it saw after each."""
    tracker, seen, counts = CallTracker(TrunkPlan.parse(TRUNK)), SeenCalls(), []
    for event in events:
        for update in tracker.feed(event, None):
            if isinstance(update, CallEnded):
                seen.ended(update)
                continue
            live = tracker.snapshot(update.call_id)
            if live is not None:
                seen.saw(live)
        counts.append(len(list(seen.calls)))
    return seen, counts


@pytest.mark.parametrize("surviving", ["customer's", "consultation"])
def test_the_consultation_call_of_an_attended_transfer_ends_with_the_customers_call(
    surviving: str,
) -> None:
    pbx = FakeAsterisk()
    customer, target, bridge = attended_transfer(pbx, surviving=surviving)
    pbx.hangup_request(customer, "16")
    hang_up_both(pbx, customer, target, bridge=bridge)

    seen, counts = desk_view(pbx.sent)

    assert max(counts) == 2  # the customer's call and the consultation, side by side
    assert list(seen.calls) == []
    assert seen.busy_agents() == set()
