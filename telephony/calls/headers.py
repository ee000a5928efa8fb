"""AMI header values as the tracker reads them: an unreadable value is None or 0, never raised.

PBX data crosses into the core here once, so a header quirk is absorbed in one place.
"""

from __future__ import annotations

UP = "6"  # ChannelState of an answered channel
_UNKNOWN_NUMBERS = {"", "<unknown>"}


def number(value: str | None) -> str | None:
    """A caller or dialled number; Asterisk's stand-ins for "none" read as None."""
    return None if value is None or value in _UNKNOWN_NUMBERS else value


def cause(value: str | None) -> int | None:
    """A Q.850 cause code; None when absent or not a number."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def duration(text: str | None) -> float:
    """CoreShowChannel's ``Duration: HH:MM:SS`` in seconds; 0 when unreadable."""
    try:
        hours, minutes, seconds = (int(part) for part in (text or "").split(":"))
    except ValueError:
        return 0.0
    return float(hours * 3600 + minutes * 60 + seconds)
