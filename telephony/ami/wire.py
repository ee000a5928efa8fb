"""AMI framing and decoding: bytes in, one plain header dict per message out.

Asterisk writes a banner line (``Asterisk Call Manager/11.0.0\\r\\n``) and then messages of
``Key: Value\\r\\n`` lines, each message closed by an empty line. We frame on bytes and decode
each whole message on its own, so a multi-byte UTF-8 character split across TCP reads is never
cut (panoramisk decodes every read separately and loses it).

Bad input never raises out of this module: an unreadable frame, garbage between frames or a
frame longer than the limit is skipped and counted in ``AmiFramer.malformed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

BANNER_PREFIX = b"Asterisk Call Manager/"
TERMINATOR = b"\r\n\r\n"
# Larger than any real event (a Cdr or a CoreShowChannel is under 2 KiB); a peer that never
# ends a frame must not make us buffer without limit.
DEFAULT_MAX_FRAME = 64 * 1024

AmiMessage = dict[str, str]

_MESSAGE_STARTS = (b"Event: ", b"Response: ")


class AmiFramer:
    """Incremental framer: feed it TCP reads in any split, get whole frames in order."""

    def __init__(self, *, expect_banner: bool = True, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.banner: str | None = None
        self.malformed = 0
        self.max_frame = max_frame
        self._expect_banner = expect_banner
        self._buffer = b""
        self._buffer_offset = 0  # stream offset of self._buffer[0]
        self._discarding = False  # inside an oversized frame, waiting for its end

    @property
    def unfinished(self) -> bytes:
        """Bytes held back because their frame has not ended yet."""
        return self._buffer

    @property
    def position(self) -> int:
        """Stream offset up to which every byte has been framed or skipped."""
        return self._buffer_offset

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Take the next read; return the frames it completed as (stream offset, bytes)."""
        buffer = self._buffer + data if self._buffer else data
        start = 0
        if self._expect_banner and self.banner is None:
            start = self._take_banner(buffer)
            if self.banner is None:
                self._keep(buffer, 0)
                return []
        frames: list[tuple[int, bytes]] = []
        while True:
            end = buffer.find(TERMINATOR, start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            elif end - start > self.max_frame:
                self.malformed += 1  # arrived whole, but no real message is this long
            elif end > start:
                frames.append((self._buffer_offset + start, buffer[start:end]))
            start = end + 4
        self._keep(buffer, start)
        return frames

    def _take_banner(self, buffer: bytes) -> int:
        end = buffer.find(b"\r\n")
        if end < 0:
            if len(buffer) > self.max_frame:
                self.banner = ""  # not an AMI peer; frame what follows anyway
                self.malformed += 1
            return 0
        self.banner = buffer[:end].decode("utf-8", "replace")
        if not buffer.startswith(BANNER_PREFIX):
            self.malformed += 1
        return end + 2

    def _keep(self, buffer: bytes, start: int) -> None:
        rest = buffer[start:]
        if len(rest) > self.max_frame:
            # Drop the oversized frame's head and skip on to its terminator.
            keep = len(TERMINATOR) - 1
            if not self._discarding:
                self.malformed += 1
            self._discarding = True
            start += len(rest) - keep
            rest = rest[-keep:]
        self._buffer_offset += start
        self._buffer = rest


def is_ami_banner(first_bytes: bytes) -> bool:
    """True when a stream starts the way Asterisk's manager interface starts every session."""
    return first_bytes.startswith(BANNER_PREFIX)


def parse_message(frame: bytes) -> tuple[AmiMessage | None, bool]:
    """Decode one frame into its headers; also say whether anything in it was malformed.

    A repeated header (``ChanVariable`` for instance) keeps every value, joined by newlines:
    AMI values never contain a newline, so nothing is lost. Garbage before the first header
    is cut off and reported; a frame with no message in it gives None.
    """
    damaged = False
    if not frame.startswith(_MESSAGE_STARTS):
        start = _first_message_start(frame)
        if start < 0:
            return None, True
        frame = frame[start:]
        damaged = True
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        text, damaged = frame.decode("utf-8", "replace"), True
    lines = text.split("\r\n")
    try:
        # The fast path: every line is "Key: Value" (str.split beats any regex here).
        message = dict(line.split(": ", 1) for line in lines)
    except ValueError:
        return _parse_leniently(lines, damaged)
    if len(message) != len(lines):
        message = _join_repeated(line.split(": ", 1) for line in lines)
    return message, damaged


def _parse_leniently(lines: list[str], damaged: bool) -> tuple[AmiMessage, bool]:
    """Lines without ": " (``Key:`` with no value, body text, noise) are read or skipped."""
    pairs: list[list[str]] = []
    body = lines[0].startswith("Response: Follows")
    for line in lines:
        key, colon, value = line.partition(":")
        if colon and key:
            pairs.append([key, value.removeprefix(" ")])
        elif line and not body:
            damaged = True
    return _join_repeated(pairs), damaged


def _first_message_start(frame: bytes) -> int:
    found = [i for i in (frame.find(b"Event: "), frame.find(b"Response: ")) if i >= 0]
    return min(found) if found else -1


def _join_repeated(pairs: Iterable[list[str]]) -> AmiMessage:
    message: AmiMessage = {}
    for key, value in pairs:
        message[key] = f"{message[key]}\n{value}" if key in message else value
    return message


class EventSieve:
    """Which events are worth decoding, judged from a frame's raw first line.

    The AMI link asks Asterisk to send only these (actions.event_filters); the sieve does the
    same on our side for a PBX that refused the filters, so that VarSet and Newexten, most of
    all AMI traffic, cost a byte comparison instead of a decode.
    """

    def __init__(self, events: Iterable[str], variables: Iterable[str]) -> None:
        self._events = frozenset(f"Event: {name}".encode() for name in events)
        self._variables = tuple(f"\r\nVariable: {name}".encode() for name in variables)

    def wants(self, frame: bytes) -> bool:
        if not frame.startswith(b"Event: "):
            return True  # responses, and damaged frames, which the parser reports
        end = frame.find(b"\r\n")
        first_line = frame if end < 0 else frame[:end]
        if first_line in self._events or b"\r\nActionID: " in frame:
            return True  # a wanted event, or one answering our own action (CoreShowChannel)
        if first_line == b"Event: VarSet":
            return any(variable in frame for variable in self._variables)
        return False


def event_time(message: Mapping[str, str], arrival: float | None) -> float | None:
    """Asterisk's own ``Timestamp`` (timestampevents=yes) when present, else the arrival time."""
    stamp = message.get("Timestamp")
    if stamp:
        try:
            return float(stamp)
        except ValueError:
            return arrival
    return arrival


class AmiDecoder:
    """Framer and parser together, with the counts an operator wants to see."""

    def __init__(
        self,
        *,
        expect_banner: bool = True,
        max_frame: int = DEFAULT_MAX_FRAME,
        sieve: EventSieve | None = None,
    ) -> None:
        self.framer = AmiFramer(expect_banner=expect_banner, max_frame=max_frame)
        self.sieve = sieve
        self.messages = 0  # counts sieved messages too
        self.damaged = 0
        self.sieved = 0  # events skipped undecoded because nothing uses them

    @property
    def banner(self) -> str | None:
        return self.framer.banner

    @property
    def malformed(self) -> int:
        """Frames skipped or repaired: garbage, oversized frames, unreadable lines."""
        return self.framer.malformed + self.damaged

    def feed(self, data: bytes) -> list[tuple[int, AmiMessage]]:
        """Take the next read; return the messages it completed with their index in the stream.

        The index counts every message, sieved ones too, from 1 (the banner is 0): it is how a
        recorded stream's .times.tsv names them. Garbage frames are not messages.
        """
        decoded: list[tuple[int, AmiMessage]] = []
        sieve = self.sieve
        for _, frame in self.framer.feed(data):
            if sieve is not None and not sieve.wants(frame):
                self.sieved += 1
                self.messages += 1
                continue
            message, damaged = parse_message(frame)
            if damaged:
                self.damaged += 1
            if message is not None:
                self.messages += 1
                if not (damaged and names_unreadable(message)):
                    decoded.append((self.messages, message))
        return decoded


# Headers that name a channel or a call: Channel, Uniqueid, Linkedid and their Dest...,
# Transferer..., Bridge... kin. A name with a byte replaced is another name.
_NAME_HEADER_ENDINGS = ("Channel", "Uniqueid", "Linkedid")


def names_unreadable(message: AmiMessage) -> bool:
    """Whether a header naming a channel or a call lost bytes to invalid UTF-8.

    Such a message is counted as malformed and skipped, not delivered repaired: a Uniqueid
    with U+FFFD in it is no channel the PBX has, so it would start a phantom call (and its
    Hangup could never end it). A damaged caller name, by contrast, is only a label.
    """
    return any(
        "\ufffd" in value for key, value in message.items() if key.endswith(_NAME_HEADER_ENDINGS)
    )
