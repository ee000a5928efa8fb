"""The call scripts in use, and the files that were refused.

Plain data with no I/O, so the console's rules can choose a call script for a call without
reaching the loader, which reads files.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.console.call_scripts.model import CallScript

LANGUAGES = ("en", "zh-CN")
FALLBACK_LANGUAGE = "en"


class LoadError(Exception):
    """A call-script file that cannot be used, and where the problem is."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(file, line, message)
        self.file = file
        self.line = line  # 1-based; 0 when the problem is not on a line (a missing directory)
        self.message = message

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}: {self.message}"


@dataclass(frozen=True, slots=True)
class Catalog:
    """The call scripts in use, and the files that were refused (shown on /api/status)."""

    call_scripts: tuple[CallScript, ...]
    errors: tuple[LoadError, ...] = ()

    def get(self, call_script_id: str, language: str | None) -> CallScript | None:
        """One call script in a language, falling back to English, then to any variant."""
        variants = [c for c in self.call_scripts if c.id == call_script_id]
        for wanted in (language, FALLBACK_LANGUAGE):
            found = next((c for c in variants if c.language == wanted), None)
            if found is not None:
                return found
        return variants[0] if variants else None

    def choose(self, queue: str | None, dialled: str | None, language: str | None) -> CallScript:
        """The call script for a call: queue rule, then dialled-number rule, then the default.

        Raises LookupError only when no call script loaded at all.
        """
        chosen = (
            (queue and next((c for c in self.call_scripts if queue in c.match.queues), None))
            or (
                dialled and next((c for c in self.call_scripts if dialled in c.match.numbers), None)
            )
            or self._default(language)
        )
        return self.get(chosen.id, language) or chosen

    def _default(self, language: str | None) -> CallScript:
        defaults = [c for c in self.call_scripts if c.default]
        for wanted in (language, FALLBACK_LANGUAGE):
            found = next((c for c in defaults if c.language == wanted), None)
            if found is not None:
                return found
        if defaults:
            return defaults[0]
        if self.call_scripts:
            return self.call_scripts[0]
        raise LookupError("no call script is loaded")
