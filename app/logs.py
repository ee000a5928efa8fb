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
