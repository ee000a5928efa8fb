"""One SIP request over the line probe's UDP socket, to its own final answer (a non-INVITE
client transaction, RFC 3261 17.1.2), and the un-REGISTER built on it: resent on UDP's timer,
sent again once with digest credentials when challenged (401/407), given up at a deadline.

Messages that are not the answer are handed back as strays: on a real PBX the 200 for the
call's BYE, or a retransmitted 200 for its INVITE, arrive just when the un-REGISTER is sent
(pyVoIP's own de-registration took the first of them for its answer). The socket is pyVoIP's;
telephony/probe.py hands it over, and this module does not import pyVoIP. The SIP text is
sip.py's.
"""

from __future__ import annotations

import secrets
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from telephony.sip import Credentials, answers, authorized, status_of

T1, T2 = 0.5, 4.0  # RFC 3261 timer E: the first resend after T1, doubling up to T2
_CHALLENGES = frozenset({401, 407})


@dataclass(frozen=True, slots=True)
class Udp:
    """Where requests go (``send``) and answers come from (``sock``), and what to do with a
    message that is not the answer (``stray``)."""

    sock: socket.socket
    send: Callable[[str], None]
    stray: Callable[[str], None]


def new_branch() -> str:
    """A Via branch for a new transaction (RFC 3261 8.1.1.7: the magic cookie first)."""
    return "z9hG4bK" + secrets.token_hex(12)


def final_answer(udp: Udp, request: str, deadline: float) -> str | None:
    """The request's own final answer, or None if none came by the deadline (a monotonic
    time) or the socket was closed. Provisional answers are waited past."""
    interval, resend_at = T1, time.monotonic()
    while (now := time.monotonic()) < deadline:
        if now >= resend_at:
            udp.send(request)
            resend_at, interval = now + interval, min(2 * interval, T2)
        try:
            ready, _, _ = select.select([udp.sock], [], [], min(deadline, resend_at) - now)
            raw = udp.sock.recv(8192).decode("utf8", "replace") if ready else ""
        except BlockingIOError:
            continue
        except (OSError, ValueError):  # closed under us (ValueError: select on fd -1)
            return None
        if not raw:
            continue
        if not answers(raw, request):
            udp.stray(raw)
        elif (status_of(raw) or 0) >= 200:
            return raw
    return None


def unregister(udp: Udp, request: str, credentials: Credentials, deadline: float) -> int | None:
    """Send the un-REGISTER and answer one challenge to it: the final status, or None if
    there was none by the deadline. A second challenge is the final status (the credentials
    were refused), as is a challenge the probe cannot answer."""
    challenged = False
    while (answer := final_answer(udp, request, deadline)) is not None:
        status = status_of(answer) or 0
        if status not in _CHALLENGES or challenged:
            return status
        again = authorized(
            request, answer, credentials, branch=new_branch(), cnonce=secrets.token_hex(8)
        )
        if again is None:
            return status
        request, challenged = again, True
    return None
