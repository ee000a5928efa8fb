"""Which endpoints are trunks, i.e. where customers come from; and which is the line
probe's own account (CALLASSIST_PROBE_*), which is neither a customer's line nor an agent's
phone: its calls are line checks and its registration coming and going is the probe's.

An endpoint is a channel's name without Asterisk's ``-xxxxxxxx`` sequence suffix (and a Local
channel's ``;1``/``;2`` half marker): ``PJSIP/2001-0000000b`` is endpoint ``PJSIP/2001``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

_SUFFIX = re.compile(r"-[0-9a-fA-F]+(;[12])?$")


def endpoint_of(channel_name: str) -> str:
    return _SUFFIX.sub("", channel_name, count=1)


class TrunkPlan:
    """Shell-style patterns (``PJSIP/carrier-*``) matched against endpoints.

    With no patterns the plan infers roles instead (see tracker): ``inferred`` is True.
    """

    def __init__(self, patterns: Iterable[str] = (), probes: Iterable[str] = ()) -> None:
        self.patterns = tuple(p.strip() for p in patterns if p.strip())
        self.probes = frozenset(p.strip() for p in probes if p.strip())
        self._regex = (
            re.compile("|".join(fnmatch.translate(p) for p in self.patterns))
            if self.patterns
            else None
        )
        self._cache: dict[str, bool] = {}

    @classmethod
    def parse(cls, text: str | None, probes: Iterable[str] = ()) -> TrunkPlan:
        """From the comma-separated form of ``--trunks`` and ``CALLASSIST_TRUNKS``."""
        return cls((text or "").split(","), probes)

    @property
    def inferred(self) -> bool:
        return self._regex is None

    def is_trunk(self, endpoint: str) -> bool:
        if self._regex is None:
            return False
        found = self._cache.get(endpoint)
        if found is None:
            if len(self._cache) > 4096:  # endpoints are few; never let odd names grow it
                self._cache.clear()
            found = self._cache[endpoint] = self._regex.match(endpoint) is not None
        return found

    def is_probe(self, endpoint: str) -> bool:
        """The line probe's endpoint (``PJSIP/callassist-probe``): not an agent's phone."""
        return endpoint in self.probes

    def is_line_check(self, endpoints: Iterable[str]) -> bool:
        """A call with a leg on the probe's endpoint is a line check, not a customer's call:
        the probe only calls its extension, which only answers."""
        return any(endpoint in self.probes for endpoint in endpoints)
