"""A live message between instances (app/live/deliveries.py): its wire form keeps the
audience, the message's own text as encoded once, and names its origin on a line of its
own, so an instance skips its own messages without decoding them."""

from __future__ import annotations

import json

import pytest

from app.live.deliveries import Audience, Delivery, NotADelivery, origin_of, read_delivery

POP = {"type": "call.ringing", "call_id": "south:1733490000.12", "agent": "PJSIP/1001", "id": 9}


def test_a_pop_crosses_with_its_audience_and_the_very_text_the_consoles_get() -> None:
    sent = Delivery.of(Audience("parties", ("PJSIP/1001",), pbx="south"), POP)
    wire = sent.to_wire("app1").encode()
    assert origin_of(wire) == b"app1"
    got = read_delivery(wire)
    assert got.audience == sent.audience
    assert got.text == sent.text and json.loads(got.text) == POP
    assert got.message == {}, "a message sent as it is is not decoded on the way"


def test_a_message_cut_per_console_is_read_on_arrival() -> None:
    parts = {"PJSIP/1001": {"call_ids": ["c1"]}}
    fault = {"type": "line.incident", "per_agent": parts}
    sent = Delivery.of(Audience("per_agent", ("PJSIP/1001",)), fault)
    assert read_delivery(sent.to_wire("app1")).message["per_agent"] == parts


@pytest.mark.parametrize(
    "wire",
    [b"app1", b"app1\n{}\n{}", b'app1\n{"kind": "nobody"}\n{}', b'app1\n{"kind": "each"}\n[1]'],
)
def test_a_frame_that_is_not_one_of_ours_is_refused(wire: bytes) -> None:
    with pytest.raises(NotADelivery):
        read_delivery(wire)
