"""The line desk: the IT board's table of trunks and phones, kept from the line changes the
pipeline hands it, and published as ``line.status`` the moment one changes. It also keeps
each line's last fault (a recovery is no fault: the fault before it stays the last one).
The line probe's endpoint is no line on the board: it is there only while a check runs.

Agent names (who sits at which phone) come from the database: read at start and after every
(re)login, off the event loop; a change published before they are read shows the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from app.db.engine import Database
from app.lines import store
from app.live.hub import Hub
from app.live.updates import FaultSeen, LinesChanged, LiveCallsListed, Update
from app.pbxes.ids import DEFAULT_PBX
from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import RECOVERED, FaultSignal, LineStatus

log = logging.getLogger("callassist.lines")
IT_SIDE = ("it", "supervisor", "admin")


class LineDesk:
    def __init__(
        self, database: Database, hub: Hub, trunks: TrunkPlan, *, pbx: str = DEFAULT_PBX
    ) -> None:
        # Each PBX has its own desk, fed by that PBX's pipeline: its endpoints are named by
        # that PBX (two PBXs may both have a PJSIP/1001), its agents are that PBX's users.
        self.pbx = pbx
        self._database = database
        self._hub = hub
        self._trunks = trunks
        self._lines: dict[str, LineStatus] = {}
        self._last_faults: dict[str, FaultSignal] = {}
        self._agent_names: dict[str, str] = {}
        self._names_wanted = asyncio.Event()
        self._names_wanted.set()

    def take(self, update: Update) -> None:
        if isinstance(update, LinesChanged):
            for line in update.lines:
                if self._trunks.is_probe(line.endpoint):
                    continue  # the line probe's account, registered only while it checks
                self._lines[line.endpoint] = line
                self._publish(line)
        elif isinstance(update, FaultSeen) and update.signal.fault != RECOVERED:
            signal = update.signal
            at = signal.at if signal.at is not None else update.received
            self._last_faults[signal.location] = replace(signal, at=at)
        elif isinstance(update, LiveCallsListed):
            self._names_wanted.set()  # a (re)login: phones may have changed hands

    @property
    def lines(self) -> dict[str, LineStatus]:
        """Every endpoint seen, with its line status."""
        return dict(self._lines)

    @property
    def last_faults(self) -> dict[str, FaultSignal]:
        """Location -> the last fault signalled there (since the service started)."""
        return dict(self._last_faults)

    def forget(self) -> None:
        """At the end of a term of ownership: the line table would go stale under another
        owner; the next term's contact listing fills it again."""
        self._lines.clear()
        self._last_faults.clear()
        self._names_wanted.set()

    async def run(self) -> None:
        while True:
            await self._names_wanted.wait()
            self._names_wanted.clear()
            try:
                self._agent_names = await self._database.run(
                    lambda db: store.agent_names(db, self.pbx)
                )
            except Exception:
                log.exception("agent names not read")

    def _publish(self, line: LineStatus) -> None:
        fault = self._last_faults.get(line.endpoint)
        view = store.endpoint_view(line, self._trunks, self._agent_names, fault, pbx=self.pbx)
        self._hub.publish_to_roles({"type": "line.status", "endpoint": view}, IT_SIDE)
