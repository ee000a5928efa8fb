"""Logging set-up: readable lines, and no login token in any of them.

uvicorn logs request lines with their query string, and a browser's WebSocket carries its
token there (``/ws?token=...``); the filter masks it before any handler sees the line.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"(token=)[^&\s\"']+")


class MaskTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1***", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN.sub(r"\1***", record.msg)
        return True


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(MaskTokens())


class Trouble:
    """What is wrong with a part now, said once when it begins and once when it is over: a
    part that retries every tick must not write a line (let alone a traceback) each time."""

    def __init__(self, log: logging.Logger, part: str) -> None:
        self._log = log
        self._part = part
        self.now: str | None = None  # the kind of trouble being had, if any
        self._bug = False

    def began(self, kind: str, detail: str, *, bug: bool = False) -> None:
        """``kind`` names the trouble (a new kind is said again); a ``bug`` gets its traceback
        (call it from the ``except`` block)."""
        if self.now == kind:
            return
        self.now, self._bug = kind, bug
        if bug:
            self._log.exception("%s: %s", self._part, detail)
        else:
            self._log.warning("%s: %s unavailable (%s); will retry", self._part, kind, detail)

    def over(self) -> None:
        if self.now is not None:
            back = "working again" if self._bug else f"{self.now} back"
            self._log.warning("%s: %s", self._part, back)
            self.now = None
