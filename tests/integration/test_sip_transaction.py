"""The probe's un-REGISTER (telephony/sip_transaction.py) on a real socket, against a fake
registrar that answers each request as it is sent: strays first, a challenge, then the
answer; or nothing at all. What a real peer makes of the credentials is test_probe.py's part
(sipp verifies the digest)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from telephony.sip import header_values, read_head
from telephony.sip_transaction import T1, Udp, unregister
from tests.sip_messages import PROBE, UNREGISTER

CHALLENGE = 'WWW-Authenticate: Digest realm="asterisk",nonce="n-{n}",algorithm=MD5,qop="auth"'
# The 200 for the call's BYE, arriving as the un-REGISTER leaves (pyVoIP took it for the answer).
STRAY = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye\r\n"
    "Call-ID: 42@127.0.0.1:5070\r\n"
    "From: <sip:callassist-probe@127.0.0.1>;tag=abc\r\n"
    "To: <sip:*77@127.0.0.1>;tag=pbx-9\r\n"
    "CSeq: 8 BYE\r\n"
    "Content-Length: 0\r\n\r\n"
)


def reply(request: str, status: str, *extra: str) -> str:
    _, headers = read_head(request)
    lines = [f"SIP/2.0 {status}"]
    lines += [f"{name}: {headers[name.lower()]}" for name in ("Via", "From", "To", "Call-ID")]
    lines += [f"CSeq: {headers['cseq']}", *extra, "Content-Length: 0"]
    return "\r\n".join(lines) + "\r\n\r\n"


class Registrar:
    """Answers each request as it is sent (``send``), into the probe's end of a socket pair."""

    def __init__(self, answer: Callable[[int, str], list[str]]) -> None:
        self.probe_end, self.pbx_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.answer = answer
        self.requests: list[str] = []
        self.sent_at: list[float] = []
        self.strays: list[str] = []

    def send(self, request: str) -> None:
        self.requests.append(request)
        self.sent_at.append(time.monotonic())
        for message in self.answer(len(self.requests), request):
            self.pbx_end.send(message.encode())

    @property
    def udp(self) -> Udp:
        return Udp(self.probe_end, self.send, self.strays.append)

    def close(self) -> None:
        self.probe_end.close()
        self.pbx_end.close()


@pytest.fixture
def registrar() -> Iterator[Callable[[Callable[[int, str], list[str]]], Registrar]]:
    made: list[Registrar] = []

    def make(answer: Callable[[int, str], list[str]]) -> Registrar:
        made.append(Registrar(answer))
        return made[-1]

    yield make
    for one in made:
        one.close()


def challenges_first(n: int, request: str) -> list[str]:
    """Asterisk's way: a challenge for the first un-REGISTER, 200 for the one with credentials."""
    if "Authorization:" not in request:
        return [
            STRAY,
            reply(request, "100 Trying"),
            reply(request, "401 Unauthorized", CHALLENGE.format(n=n)),
        ]
    return [reply(request, "200 OK", "Expires: 0")]


def test_the_unregister_answers_the_challenge_past_a_stray_200(registrar) -> None:
    pbx = registrar(challenges_first)

    status = unregister(pbx.udp, UNREGISTER, PROBE, time.monotonic() + 2)

    assert status == 200
    assert pbx.strays == [STRAY]
    first, again = pbx.requests
    assert first == UNREGISTER
    _, headers = read_head(again)
    assert headers["expires"] == "0" and headers["cseq"] == "4 REGISTER"
    assert headers["call-id"] == "77@127.0.0.1:5070"
    assert headers["authorization"].startswith('Digest username="callassist-probe"')
    assert 'nonce="n-1"' in headers["authorization"]
    assert header_values(again, "via")[0] != header_values(first, "via")[0]  # a new branch


def test_credentials_refused_twice_are_the_final_answer(registrar) -> None:
    def always(n: int, request: str) -> list[str]:
        return [reply(request, "401 Unauthorized", CHALLENGE.format(n=n))]

    pbx = registrar(always)

    assert unregister(pbx.udp, UNREGISTER, PROBE, time.monotonic() + 2) == 401
    assert len(pbx.requests) == 2  # one answer to one challenge, no loop


def test_a_proxy_challenge_is_answered_with_proxy_authorization(registrar) -> None:
    def proxy(n: int, request: str) -> list[str]:
        if "Proxy-Authorization:" in request:
            return [reply(request, "200 OK")]
        challenge = CHALLENGE.format(n=n).replace("WWW-", "Proxy-")
        return [reply(request, "407 Proxy Authentication Required", challenge)]

    pbx = registrar(proxy)

    assert unregister(pbx.udp, UNREGISTER, PROBE, time.monotonic() + 2) == 200


def test_a_silent_pbx_gets_the_request_again_until_the_hard_deadline(registrar) -> None:
    pbx = registrar(lambda n, request: [])
    started = time.monotonic()

    status = unregister(pbx.udp, UNREGISTER, PROBE, started + 2 * T1 + 0.2)

    took = time.monotonic() - started
    assert status is None
    assert 2 * T1 + 0.2 <= took < 2 * T1 + 0.5
    # sent, then again after T1, and after 2 T1 more (past the deadline: not sent)
    assert pbx.requests == [UNREGISTER, UNREGISTER]
    assert T1 - 0.05 < pbx.sent_at[1] - pbx.sent_at[0] < T1 + 0.1


def test_a_closed_socket_ends_the_wait_at_once(registrar) -> None:
    pbx = registrar(lambda n, request: [])
    pbx.probe_end.close()
    started = time.monotonic()

    assert unregister(pbx.udp, UNREGISTER, PROBE, started + 2) is None
    assert time.monotonic() - started < 0.2
