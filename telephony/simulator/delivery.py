"""Which events a session receives: its event-class mask and its legacy regex filters.

Both follow Asterisk 22's manager.c so that a client's ``Events:``/``EventMask:`` and
``Filter`` settings behave here exactly as they will against the real PBX:

- an event's classes come from its ``Privilege:`` header (``call,all`` is class ``call``;
  ``all`` is only Asterisk's decoration). Asterisk sends an event when *all* of its classes
  are in the session's mask; every real event has one class, so this is the same as asking
  for an intersection. An event without ``Privilege:`` is always sent.
- mask words (``strings_to_mask``): digits are a bitmask of EVENT_FLAG_* values (``1`` is
  ``system`` alone), ``on``/``yes``/``true``... mean every class, ``off``/``no``/``false``...
  none, otherwise a comma list of class names, matched exactly (case-sensitive, no spaces)
  the way Asterisk's ``get_perm`` matches them; unknown names select nothing. Events are
  dropped, never kept for later, while a session's mask refuses them.
- filters are regexes searched in the whole event text; a leading ``!`` makes an exclude
  filter. Asterisk compiles them as POSIX extended regexes without REG_NEWLINE, so ``.``
  crosses line ends there; re.DOTALL does the same here. No filters: everything passes.
  Only includes: an implied exclude-all, then the includes. Only excludes: an implied
  include-all, then the excludes. Both: the includes, then the excludes on what they let
  through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Asterisk 22's event classes (manager.c ``perms``), minus ``all`` and ``none``.
EVENT_CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)
# manager.h's EVENT_FLAG_* bits of those classes (bit 14 is HOOKRESPONSE, no class).
_FLAG_BITS = {
    "system": 0,
    "call": 1,
    "log": 2,
    "verbose": 3,
    "command": 4,
    "agent": 5,
    "user": 6,
    "config": 7,
    "dtmf": 8,
    "reporting": 9,
    "cdr": 10,
    "dialplan": 11,
    "originate": 12,
    "agi": 13,
    "cc": 15,
    "aoc": 16,
    "test": 17,
    "security": 18,
    "message": 30,
}
_TRUE_WORDS = frozenset({"yes", "true", "y", "t", "1", "on"})  # ast_true
_FALSE_WORDS = frozenset({"no", "false", "n", "f", "0", "off"})  # ast_false
_DECORATION = frozenset({"all", "none"})


def parse_event_mask(text: str) -> frozenset[str] | None:
    """The classes a mask selects; None for an empty mask (Asterisk leaves the mask alone)."""
    if not text:
        return None
    if text.isascii() and text.isdigit():  # before the words: "1" is system, not on
        bits = int(text)
        return frozenset(name for name, bit in _FLAG_BITS.items() if bits >> bit & 1)
    if text.lower() in _FALSE_WORDS:
        return frozenset()
    if text.lower() in _TRUE_WORDS:
        return EVENT_CLASSES
    names = set(text.split(","))
    if "all" in names:
        return EVENT_CLASSES
    return frozenset(names & EVENT_CLASSES)


def event_classes(headers: Mapping[str, str]) -> frozenset[str] | None:
    """The classes named by an event's ``Privilege:``; None when it has none."""
    privilege = headers.get("Privilege")
    if privilege is None:
        return None
    names = {name.strip().lower() for name in privilege.split(",")}
    return frozenset(names - _DECORATION - {""})


def mask_allows(mask: frozenset[str], headers: Mapping[str, str]) -> bool:
    classes = event_classes(headers)
    return classes is None or classes <= mask


class EventFilters:
    """A session's legacy ``Filter`` list, compiled, applied in Asterisk's order."""

    def __init__(self) -> None:
        self.patterns: list[str] = []  # as the client gave them, ``!`` kept
        self._include: list[re.Pattern[str]] = []
        self._exclude: list[re.Pattern[str]] = []

    def add(self, pattern: str) -> None:
        """Raises re.error when the pattern does not compile (Asterisk answers an error)."""
        exclude = pattern.startswith("!")
        compiled = re.compile(pattern[1:] if exclude else pattern, re.DOTALL)
        (self._exclude if exclude else self._include).append(compiled)
        self.patterns.append(pattern)

    def allows(self, text: str) -> bool:
        if self._include and not any(p.search(text) for p in self._include):
            return False
        return not any(p.search(text) for p in self._exclude)
