"""Recordings on disk: MixMonitor's files under RECORDINGS_DIR, found safely by name, and
whether one holds anything to hear.

The name comes from the PBX (the MixMonitor filename on the call), so it is treated as
untrusted: it must resolve inside the recordings folder, whatever ``..`` or absolute path
it holds, or it is not served.
"""

from __future__ import annotations

from pathlib import Path

# The header a file of that format starts with, before any sound: a canonical WAV's RIFF,
# fmt and data chunk headers; WAV49 (GSM in WAV) has a longer fmt chunk.
HEADER_BYTES = {".wav": 44, ".wav49": 60}
# What MixMonitor writes, by extension; anything else is served as bytes.
AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".wav49": "audio/wav",
    ".gsm": "audio/gsm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
}


def recording_file(folder: Path, name: str | None) -> Path | None:
    """The recording's file if it exists inside ``folder``; None otherwise.

    MixMonitor names files by the PBX's own path (/var/spool/asterisk/monitor/2026/x.wav),
    and the folder is often the same files mounted elsewhere: so the longest tail of that
    path found inside ``folder`` is the file.
    """
    if not name or "\x00" in name:
        return None
    root = folder.resolve()
    parts = [part for part in Path(name).parts if part != Path(name).anchor]
    for start in range(len(parts)):
        path = root.joinpath(*parts[start:]).resolve()
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


def audible(path: Path | None) -> bool:
    """Whether the file holds something to hear. MixMonitor writes a WAV's header when it
    starts, so a call that never had audio leaves a header and nothing after it: that is
    not a recording. Other formats have no header: any byte is sound."""
    if path is None:
        return False
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return size > HEADER_BYTES.get(path.suffix.lower(), 0)


def media_type(path: Path) -> str:
    return AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")
