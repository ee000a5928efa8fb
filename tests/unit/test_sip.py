"""The SIP requests the line probe writes itself (telephony/sip.py): plain text in and out."""

from __future__ import annotations

from telephony.sip import (
    Challenge,
    Credentials,
    ack_for,
    ack_for_answer,
    answers,
    authorized,
    cancel_for,
    digest_credentials,
    header_values,
    read_challenge,
    read_head,
    status_of,
)
from tests.sip_messages import PROBE, UNREGISTER

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


# The 200 OK an Asterisk sends for the probe's INVITE: pyVoIP ACKed it with a To tag of its
# own making, so Asterisk kept retransmitting it (issue 13, item 4).
ANSWER = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;received=127.0.0.1;branch=z9hG4bK-1\r\n"
    "Record-Route: <sip:edge.example;lr>, <sip:core.example;lr>\r\n"
    "Call-ID: 42@127.0.0.1:5070\r\n"
    "From: <sip:probe@127.0.0.1>;tag=abc\r\n"
    "To: <sip:*77@pbx.example>;tag=6f1e8c55-2a4b-4f0e-9b1d-3c2a1e0f9d8c\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:10.0.0.5:5060;transport=udp>;expires=3600\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_an_ack_for_the_200_is_a_request_of_the_dialog_the_200_made() -> None:
    ack = ack_for_answer(ANSWER, "z9hG4bK-ack")
    assert ack is not None
    start, headers = read_head(ack)
    assert start == "ACK sip:10.0.0.5:5060;transport=udp SIP/2.0"  # the 200's Contact
    assert headers["to"] == "<sip:*77@pbx.example>;tag=6f1e8c55-2a4b-4f0e-9b1d-3c2a1e0f9d8c"
    assert headers["from"] == "<sip:probe@127.0.0.1>;tag=abc"
    assert headers["via"] == "SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-ack"
    assert (headers["call-id"], headers["cseq"]) == ("42@127.0.0.1:5070", "7 ACK")
    assert header_values(ack, "route") == ["<sip:core.example;lr>", "<sip:edge.example;lr>"]


def test_a_200_without_a_contact_gets_no_ack() -> None:
    assert ack_for_answer(ANSWER.replace("Contact: ", "X-Contact: "), "z9hG4bK-ack") is None


def test_compact_header_names_are_read_as_their_long_forms() -> None:
    _, headers = read_head("SIP/2.0 200 OK\r\ni: 9@h\r\nt: <sip:a@h>;tag=x\r\nm: <sip:b@h>\r\n\r\n")
    assert headers == {"call-id": "9@h", "to": "<sip:a@h>;tag=x", "contact": "<sip:b@h>"}


# The un-REGISTER pyVoIP writes for the probe (tests/sip_messages.py), and the challenge
# Asterisk answers it with.
CHALLENGE = (
    "SIP/2.0 401 Unauthorized\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;received=127.0.0.1;branch=z9hG4bK-first\r\n"
    "Call-ID: 77@127.0.0.1:5070\r\n"
    'From: "callassist-probe" <sip:callassist-probe@127.0.0.1>;tag=r1\r\n'
    'To: "callassist-probe" <sip:callassist-probe@127.0.0.1>;tag=z9hG4bK-first\r\n'
    "CSeq: 3 REGISTER\r\n"
    'WWW-Authenticate: Digest realm="asterisk",nonce="1765101234/5a1c",'
    'opaque="4c9e3b2d1a0f7e6d",algorithm=MD5,qop="auth"\r\n'
    "Server: Asterisk PBX 22.10.1\r\n"
    "Content-Length:  0\r\n\r\n"
)


def test_the_challenged_unregister_is_sent_again_with_credentials() -> None:
    again = authorized(UNREGISTER, CHALLENGE, PROBE, branch="z9hG4bK-second", cnonce="c0ffee")
    assert again is not None
    start, headers = read_head(again)
    assert start == "REGISTER sip:127.0.0.1 SIP/2.0"
    assert headers["via"] == "SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-second"
    assert headers["cseq"] == "4 REGISTER"  # the same Call-ID, the next CSeq
    assert headers["call-id"] == "77@127.0.0.1:5070"
    assert headers["expires"] == "0"
    assert headers["contact"] == "<sip:callassist-probe@127.0.0.1:5070;transport=UDP>"
    challenge = read_challenge(CHALLENGE)
    assert challenge is not None
    expected = digest_credentials(challenge, "REGISTER", "sip:127.0.0.1", PROBE, "c0ffee")
    assert headers["authorization"] == expected
    assert 'uri="sip:127.0.0.1"' in expected and "qop=auth" in expected
    assert 'opaque="4c9e3b2d1a0f7e6d"' in expected
    assert again.endswith("Content-Length: 0\r\n\r\n")


def test_a_407_is_answered_with_proxy_authorization() -> None:
    proxy = CHALLENGE.replace("401 Unauthorized", "407 Proxy Authentication Required")
    proxy = proxy.replace("WWW-Authenticate", "Proxy-Authenticate")
    again = authorized(UNREGISTER, proxy, PROBE, branch="z9hG4bK-second", cnonce="c0ffee")
    assert again is not None
    _, headers = read_head(again)
    assert headers["proxy-authorization"].startswith('Digest username="callassist-probe"')
    assert "authorization" not in headers


def test_the_digest_is_rfc_2617s_and_rfc_7616s() -> None:
    """The worked examples of RFC 2617 3.5 (MD5) and RFC 7616 3.9.1 (SHA-256)."""
    md5 = Challenge(
        "Authorization", "testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "MD5",
        "5ccc069c403ebaf9f0171e9517f40e41", ("auth", "auth-int"),
    )  # fmt: skip
    mufasa = Credentials("Mufasa", "Circle Of Life")
    value = digest_credentials(md5, "GET", "/dir/index.html", mufasa, "0a4f113b")
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    sha = Challenge(
        "Authorization", "http-auth@example.org", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "SHA-256", None, ("auth",),
    )  # fmt: skip
    cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
    value = digest_credentials(
        sha, "GET", "/dir/index.html", Credentials("Mufasa", "Circle of Life"), cnonce
    )
    assert 'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"' in value


def test_a_challenge_without_qop_is_answered_the_rfc_2069_way() -> None:
    plain = CHALLENGE.replace(',qop="auth"', "")
    challenge = read_challenge(plain)
    assert challenge is not None and challenge.qop == ()
    value = digest_credentials(challenge, "REGISTER", "sip:127.0.0.1", PROBE, "c0ffee")
    assert "cnonce" not in value and "qop" not in value and "nc=" not in value


def test_the_first_challenge_the_probe_can_answer_is_taken() -> None:
    both = CHALLENGE.replace(
        "WWW-Authenticate: Digest",
        'WWW-Authenticate: Digest realm="asterisk",nonce="n0",algorithm=SHA-512-256\r\n'
        "WWW-Authenticate: Digest",
    )
    challenge = read_challenge(both)
    assert challenge is not None and (challenge.algorithm, challenge.nonce) == (
        "MD5",
        "1765101234/5a1c",
    )


def test_a_challenge_the_probe_cannot_answer_gets_no_request() -> None:
    unknown = CHALLENGE.replace("algorithm=MD5", "algorithm=SHA-512-256")
    assert authorized(UNREGISTER, unknown, PROBE, branch="b", cnonce="c") is None
    only_auth_int = CHALLENGE.replace('qop="auth"', 'qop="auth-int"')
    assert read_challenge(only_auth_int) is None
    assert read_challenge(CHALLENGE.replace("401 Unauthorized", "403 Forbidden")) is None


def test_only_the_answer_to_the_request_belongs_to_its_transaction() -> None:
    assert status_of(CHALLENGE) == 401 and status_of(UNREGISTER) is None
    assert answers(CHALLENGE, UNREGISTER)
    # a 200 for the call's BYE, or a retransmitted 200 for its INVITE, arriving meanwhile
    assert not answers(ANSWER, UNREGISTER)
    stray = CHALLENGE.replace("401 Unauthorized", "200 OK").replace(
        "CSeq: 3 REGISTER", "CSeq: 2 BYE"
    )
    assert not answers(stray, UNREGISTER)
    earlier = CHALLENGE.replace("branch=z9hG4bK-first", "branch=z9hG4bK-earlier")
    assert not answers(earlier, UNREGISTER)
