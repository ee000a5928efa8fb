"""The calls in progress as a snapshot or a route reads them, on whichever instance, from
every PBX.

For each PBX: the instance that owns it has its calls in its own pipeline; another instance
reads the owner's view that the relay keeps in Redis (app/live/relay.py). Alone (no Redis),
an instance reads its own pipelines, as it always did. Also the relay's ``Owner``: what this
instance gives the relay for the PBXs it owns (their whole views, and the acknowledgements
of pops taken by other instances).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.live.deliveries import calls_for
from app.live.no_pbx import PbxLink, pbx_configured
from app.live.pipeline import Pipeline, live_call_of
from app.live.relay import Relay
from app.ownership.desk import OwnerState
from app.pbxes.ids import split_call_id
from app.records.query import Viewer
from telephony.calls.model import LiveCall

CONNECTED = "connected"


@dataclass(frozen=True, eq=False)
class PbxLive:
    """One PBX's live side on this instance."""

    name: str
    pipeline: Pipeline
    link: PbxLink
    owner: OwnerState

    def link_view(self) -> str:
        return str(self.link.snapshot().status) if pbx_configured(self.link) else "not configured"


class LiveCalls:
    def __init__(self, pbxes: Sequence[PbxLive], relay: Relay) -> None:
        self._pbxes = {pbx.name: pbx for pbx in pbxes}
        self._relay = relay

    def here(self, pbx: str) -> bool:
        """Whether this instance's pipeline holds the PBX's picture: it owns the PBX, or no
        relay brings another owner's."""
        return self._pbxes[pbx].owner.owner or not self._relay.state.configured

    def known(self, pbx: str) -> bool:
        return pbx in self._pbxes

    @property
    def names(self) -> list[str]:
        return list(self._pbxes)

    async def calls(self, viewer: Viewer) -> tuple[list[dict[str, Any]], str]:
        """The calls this viewer may see (an agent: on their phone's PBX only), and the
        links' state: "connected" when every PBX's is, else the first other. Raises
        RelayDown when an owner's view cannot be read."""
        calls: list[dict[str, Any]] = []
        links: list[str] = []
        for pbx in self._pbxes.values():
            if viewer.pbx is not None and viewer.role == "agent" and pbx.name != viewer.pbx:
                continue
            if self.here(pbx.name):
                theirs, link = pbx.pipeline.live_calls(viewer), pbx.link_view()
            else:
                theirs, link = await self._relay.owner_calls(pbx.name)
                theirs = calls_for(theirs, viewer.role, viewer.endpoint)
            calls.extend(theirs)
            links.append(link)
        return calls, next((link for link in links if link != CONNECTED), CONNECTED)

    async def call(self, call_id: str) -> LiveCall | None:
        pbx = split_call_id(call_id)[0]
        if pbx not in self._pbxes:
            return None
        if self.here(pbx):
            return self._pbxes[pbx].pipeline.live_call(call_id)
        calls, _ = await self._relay.owner_calls(pbx)
        for view in calls:
            if view.get("call_id") == call_id:
                return live_call_of(view)
        return None

    def acked(self, message_id: int, endpoint: str | None, at: float) -> bool:
        """A console's acknowledgement, to the ledger of the owned PBX that sent the pop;
        False when none of this instance's did (the relay takes it to the owner)."""
        return any(
            pbx.pipeline.pops.acked(message_id, endpoint, at)
            for pbx in self._pbxes.values()
            if pbx.owner.owner or not self._relay.state.configured
        )

    # -- the relay's Owner ----------------------------------------------------------------

    def owns(self, pbx: str) -> bool:
        side = self._pbxes.get(pbx)
        return side is not None and side.owner.owner

    def owns_all(self) -> bool:
        return all(pbx.owner.owner for pbx in self._pbxes.values())

    def owned(self) -> list[str]:
        return [name for name, pbx in self._pbxes.items() if pbx.owner.owner]

    def owner_view(self, pbx: str) -> list[dict[str, Any]] | None:
        side = self._pbxes.get(pbx)
        if side is None or not side.owner.owner:
            return None
        return side.pipeline.all_live_calls()

    def link_view(self, pbx: str) -> str:
        return self._pbxes[pbx].link_view()


def the_live_calls(request: HTTPConnection) -> LiveCalls:
    """The running service's (app/wiring.py puts the parts on the app)."""
    return cast(LiveCalls, request.app.state.parts.live_calls)


LiveCallsDep = Annotated[LiveCalls, Depends(the_live_calls)]
