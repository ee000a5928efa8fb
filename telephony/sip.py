"""The SIP text the line probe writes itself, because pyVoIP 1.6.8 gets it wrong or never sends
it: the ACK for a final response (RFC 3261 17.1.1.3 for a refusal, 13.2.2.4 for the 200 OK,
whose To tag pyVoIP replaces with a new one), the CANCEL for a pending INVITE (9.1), and a
request re-sent with digest credentials after a 401/407 challenge (22.2; RFC 2617 and 7616),
which the probe's un-REGISTER needs. Plain text in, plain text out: the Via branch and the
client nonce come in as arguments; telephony/probe.py sends what these return.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_DIALOG_HEADERS = frozenset({"via", "from", "to", "call-id"})
_CSEQ = re.compile(r"\s*(\d+)\s+(\S+)")
_STATUS = re.compile(r"SIP/2\.0\s+(\d{3})\b")
_BRANCH = re.compile(r";\s*branch=[^;,\s]*", re.IGNORECASE)
_PARAM = re.compile(r'([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]+)')
_URI_IN_BRACKETS = re.compile(r"<([^>]*)>")
# RFC 3261 7.3.3: the compact forms of the headers read here.
_COMPACT = {"i": "call-id", "v": "via", "f": "from", "t": "to", "m": "contact"}
_HASHES = {"MD5": "md5", "SHA-256": "sha256"}  # RFC 7616 algorithms hashlib always has
# A challenge's status -> the header it comes in, and the header that answers it.
_ASKED_FOR = {
    401: ("www-authenticate", "Authorization"),
    407: ("proxy-authenticate", "Proxy-Authorization"),
}


def read_head(raw: str) -> tuple[str, dict[str, str]]:
    """The start line and the first value of each header (names lower-cased, compact forms
    spelt out)."""
    start, lines = _head_lines(raw)
    found: dict[str, str] = {}
    for name, value in lines:
        found.setdefault(name, value)
    return start, found


def header_values(raw: str, name: str) -> list[str]:
    """Every value of one header, in order, whether on lines of their own or comma-separated
    (not for the authentication headers, whose values hold commas)."""
    wanted = name.lower()
    values: list[str] = []
    for found, value in _head_lines(raw)[1]:
        if found == wanted:
            values += [part.strip() for part in _split_list(value)]
    return values


def status_of(raw: str) -> int | None:
    """A response's status code; None for a request or anything else."""
    match = _STATUS.match(raw)
    return int(match.group(1)) if match else None


def answers(response: str, request: str) -> bool:
    """Whether the response belongs to the request's transaction: the same top Via branch,
    Call-ID and CSeq (RFC 3261 17.1.3), not a straggler from another one."""
    _, got = read_head(response)
    _, sent = read_head(request)
    return (
        status_of(response) is not None
        and _branch(got.get("via", "")) == _branch(sent.get("via", ""))
        and _cseq(got) == _cseq(sent)
        and got.get("call-id") == sent.get("call-id")
    )


def ack_for(response: str, request_uri: str) -> str | None:
    """The ACK for a non-2xx final response: same Via branch, the response's To tag."""
    _, headers = read_head(response)
    cseq = _cseq(headers)
    if cseq is None or not headers.keys() >= _DIALOG_HEADERS:
        return None
    return _request("ACK", request_uri, headers, cseq[0])


def ack_for_answer(response: str, branch: str) -> str | None:
    """The ACK for a 2xx to an INVITE (RFC 3261 13.2.2.4): a request of the dialog the 200
    made, so the 200's To tag, sent to its Contact along its Record-Route, under a new
    branch. The UAC sends it again for every retransmission of the 200."""
    _, headers = read_head(response)
    cseq = _cseq(headers)
    contact = _uri(headers.get("contact", ""))
    if cseq is None or not contact or not headers.keys() >= _DIALOG_HEADERS:
        return None
    sent_by = headers["via"].split(";", 1)[0].strip()
    dialog = dict(headers, via=f"{sent_by};rport;branch={branch}")
    routes = [f"Route: {route}" for route in reversed(header_values(response, "record-route"))]
    return _request("ACK", contact, dialog, cseq[0], routes)


def cancel_for(invite: str) -> str | None:
    """The CANCEL for a pending INVITE: same request URI, Via, From, To, Call-ID, CSeq."""
    start, headers = read_head(invite)
    parts = start.split(" ")
    cseq = _cseq(headers)
    if len(parts) != 3 or cseq is None:
        return None
    if not headers.keys() >= _DIALOG_HEADERS:
        return None
    return _request("CANCEL", parts[1], headers, cseq[0])


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Challenge:
    """One digest challenge of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate)."""

    answer_header: str  # Authorization or Proxy-Authorization
    realm: str
    nonce: str
    algorithm: str = "MD5"
    opaque: str | None = None
    qop: tuple[str, ...] = ()


def read_challenge(response: str) -> Challenge | None:
    """The first digest challenge of a 401/407 that the probe can answer: MD5 or SHA-256,
    with no qop or qop=auth."""
    asked = _ASKED_FOR.get(status_of(response) or 0)
    if asked is None:
        return None
    challenge_header, answer_header = asked
    for name, value in _head_lines(response)[1]:
        scheme, _, rest = value.partition(" ")
        if name != challenge_header or scheme.lower() != "digest":
            continue
        params = {k.lower(): v.strip('"') for k, v in _PARAM.findall(rest)}
        algorithm = params.get("algorithm", "MD5").upper()
        qop = tuple(q.strip() for q in params.get("qop", "").split(",") if q.strip())
        usable = algorithm in _HASHES and (not qop or "auth" in qop)
        if usable and {"realm", "nonce"} <= params.keys():
            return Challenge(
                answer_header, params["realm"], params["nonce"], algorithm,
                params.get("opaque"), qop,
            )  # fmt: skip
    return None


def digest_credentials(
    challenge: Challenge, method: str, uri: str, credentials: Credentials, cnonce: str
) -> str:
    """The value of the Authorization (or Proxy-Authorization) header answering a challenge,
    for the first use of its nonce."""

    def h(text: str) -> str:
        return hashlib.new(_HASHES[challenge.algorithm], text.encode()).hexdigest()

    ha1 = h(f"{credentials.username}:{challenge.realm}:{credentials.password}")
    ha2 = h(f"{method}:{uri}")
    fields = [
        f'username="{credentials.username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
    ]
    if challenge.qop:
        nc = "00000001"
        response = h(f"{ha1}:{challenge.nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', f'cnonce="{cnonce}"', "qop=auth", f"nc={nc}"]
    else:
        fields.append(f'response="{h(f"{ha1}:{challenge.nonce}:{ha2}")}"')
    fields.append(f"algorithm={challenge.algorithm}")
    if challenge.opaque is not None:
        fields.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(fields)


def authorized(
    request: str, challenge: str, credentials: Credentials, *, branch: str, cnonce: str
) -> str | None:
    """The request sent again with credentials for the challenge (a 401 or 407 to it): the
    same Call-ID, the next CSeq, a new branch (RFC 3261 8.1.3.5, 22.2). None when the
    challenge is not one the probe can answer."""
    found = read_challenge(challenge)
    start, headers = read_head(request)
    parts = start.split(" ")
    cseq = _cseq(headers)
    if found is None or len(parts) != 3 or cseq is None:
        return None
    value = digest_credentials(found, parts[0], parts[1], credentials, cnonce)
    answer = f"{found.answer_header}: {value}"
    head, _, body = request.partition("\r\n\r\n")
    lines = [start]
    for line in head.split("\r\n")[1:]:
        name = _name(line)
        if name == found.answer_header.lower():
            continue  # an answer to an earlier challenge
        if name == "content-length":
            lines.append(answer)
            answer = ""
        lines.append(f"CSeq: {int(cseq[0]) + 1} {cseq[1]}" if name == "cseq" else line)
    if answer:
        lines.append(answer)
    via = next((i for i, line in enumerate(lines) if _name(line) == "via"), None)
    if via is None:
        return None
    top = lines[via].split(",", 1)  # the request's own Via is the first value
    top[0] = _BRANCH.sub("", top[0]) + f";branch={branch}"
    lines[via] = ",".join(top)
    return "\r\n".join(lines) + "\r\n\r\n" + body


def _head_lines(raw: str) -> tuple[str, list[tuple[str, str]]]:
    head = raw.split("\r\n\r\n", 1)[0].split("\r\n")
    lines: list[tuple[str, str]] = []
    for line in head[1:]:
        if line[:1] in (" ", "\t") and lines:  # a folded line continues the last header
            lines[-1] = (lines[-1][0], f"{lines[-1][1]} {line.strip()}")
            continue
        lines.append((_name(line), line.partition(":")[2].strip()))
    return head[0], lines


def _name(line: str) -> str:
    name = line.partition(":")[0].strip().lower()
    return _COMPACT.get(name, name)


def _split_list(value: str) -> list[str]:
    """A header's comma-separated values, leaving commas inside <...> and quotes alone."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in value:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "<>":
            depth += 1 if char == "<" else -1
        elif char == "," and not quoted and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current] if current.strip() else parts


def _cseq(headers: dict[str, str]) -> tuple[str, str] | None:
    match = _CSEQ.match(headers.get("cseq", ""))
    return (match.group(1), match.group(2).upper()) if match else None


def _branch(via: str) -> str | None:
    match = _BRANCH.search(via)
    return match.group(0).split("=", 1)[1] if match else None


def _uri(name_addr: str) -> str:
    """The URI of a Contact (or From, To) value: inside <...>, or up to its parameters."""
    match = _URI_IN_BRACKETS.search(name_addr)
    return match.group(1).strip() if match else name_addr.split(";", 1)[0].strip()


def _request(
    method: str, uri: str, headers: dict[str, str], cseq: str, extra: list[str] | None = None
) -> str:
    return (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: {headers['via']}\r\n"
        "Max-Forwards: 70\r\n"
        + "".join(f"{line}\r\n" for line in extra or [])
        + f"From: {headers['from']}\r\n"
        f"To: {headers['to']}\r\n"
        f"Call-ID: {headers['call-id']}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
