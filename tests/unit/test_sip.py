"""The SIP requests the line probe writes itself (telephony/sip.py): plain text in and out."""

from __future__ import annotations

from telephony.sip import ack_for, cancel_for, read_head

INVITE = (
    "INVITE sip:*77@pbx.example SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n"
    "From: <sip:probe@pbx.example>;tag=abc\r\n"
    "To: <sip:*77@pbx.example>\r\n"
    "Call-ID: 42@127.0.0.1:5070\r\n"
    "CSeq: 7 INVITE\r\n"
    "Content-Length: 0\r\n\r\n"
)
BUSY = (
    "SIP/2.0 486 Busy Here\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport=5070\r\n"
    "From: <sip:probe@pbx.example>;tag=abc\r\n"
    "To: <sip:*77@pbx.example>;tag=pbx-9\r\n"
    "Call-ID: 42@127.0.0.1:5070\r\n"
    "CSeq: 7 INVITE\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_the_head_is_the_start_line_and_the_first_value_of_each_header() -> None:
    start, headers = read_head("SIP/2.0 200 OK\r\nVia: a\r\nvia: b\r\nCSeq: 1 REGISTER\r\n\r\nbody")
    assert start == "SIP/2.0 200 OK"
    assert headers == {"via": "a", "cseq": "1 REGISTER"}


def test_a_cancel_repeats_the_invites_uri_dialog_headers_and_cseq_number() -> None:
    cancel = cancel_for(INVITE)
    assert cancel is not None
    start, headers = read_head(cancel)
    assert start == "CANCEL sip:*77@pbx.example SIP/2.0"
    assert headers["via"] == "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport"
    assert headers["to"] == "<sip:*77@pbx.example>"
    assert (headers["call-id"], headers["cseq"]) == ("42@127.0.0.1:5070", "7 CANCEL")
    assert cancel.endswith("Content-Length: 0\r\n\r\n")


def test_an_ack_for_a_refusal_takes_the_responses_to_tag() -> None:
    ack = ack_for(BUSY, "sip:*77@pbx.example")
    assert ack is not None
    start, headers = read_head(ack)
    assert start == "ACK sip:*77@pbx.example SIP/2.0"
    assert headers["to"] == "<sip:*77@pbx.example>;tag=pbx-9"
    assert headers["cseq"] == "7 ACK"


def test_a_message_missing_a_dialog_header_gets_no_request() -> None:
    assert cancel_for(INVITE.replace("Call-ID: 42@127.0.0.1:5070\r\n", "")) is None
    assert ack_for(BUSY.replace("CSeq: 7 INVITE", "CSeq: INVITE"), "sip:*77@pbx.example") is None
    assert cancel_for("INVITE sip:*77@pbx.example\r\n\r\n") is None
