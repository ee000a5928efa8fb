"""The SIP requests the line probe writes itself, because pyVoIP 1.6.8 does not send them: the
ACK for a non-2xx final response (RFC 3261 17.1.1.3) and the CANCEL for a pending INVITE
(9.1). Plain text in, plain text out; telephony/probe.py sends them."""

from __future__ import annotations

import re

_DIALOG_HEADERS = frozenset({"via", "from", "to", "call-id"})
_CSEQ_NUMBER = re.compile(r"\s*(\d+)")


def read_head(raw: str) -> tuple[str, dict[str, str]]:
    """The start line and the first value of each header (names lower-cased)."""
    head = raw.split("\r\n\r\n", 1)[0].split("\r\n")
    found: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), value.strip())
    return head[0], found


def ack_for(response: str, request_uri: str) -> str | None:
    """The ACK for a non-2xx final response: same Via branch, the response's To tag."""
    _, headers = read_head(response)
    cseq = _CSEQ_NUMBER.match(headers.get("cseq", ""))
    if cseq is None or not headers.keys() >= _DIALOG_HEADERS:
        return None
    return _request("ACK", request_uri, headers, cseq.group(1))


def cancel_for(invite: str) -> str | None:
    """The CANCEL for a pending INVITE: same request URI, Via, From, To, Call-ID, CSeq."""
    start, headers = read_head(invite)
    parts = start.split(" ")
    cseq = _CSEQ_NUMBER.match(headers.get("cseq", ""))
    if len(parts) != 3 or cseq is None:
        return None
    if not headers.keys() >= _DIALOG_HEADERS:
        return None
    return _request("CANCEL", parts[1], headers, cseq.group(1))


def _request(method: str, uri: str, headers: dict[str, str], cseq: str) -> str:
    return (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: {headers['via']}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: {headers['from']}\r\n"
        f"To: {headers['to']}\r\n"
        f"Call-ID: {headers['call-id']}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
