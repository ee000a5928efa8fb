"""The calls in progress as a snapshot or a route reads them, on whichever instance.

The instance that owns the PBX has them in its own pipeline; another instance reads the
owner's view that the relay keeps in Redis (app/live/relay.py). Alone (no Redis), an
instance reads its own pipeline, as it always did. Also the relay's ``Owner``: what this
instance, while it owns the PBX, gives the relay (its whole view, and the acknowledgements
of pops taken by other instances).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.live.deliveries import calls_for
from app.live.no_pbx import PbxLink, pbx_configured
from app.live.pipeline import Pipeline, live_call_of
from app.live.relay import Relay
from app.ownership.desk import OwnerState
from app.records.query import Viewer
from telephony.calls.model import LiveCall


class LiveCalls:
    def __init__(self, pipeline: Pipeline, link: PbxLink, relay: Relay, owner: OwnerState):
        self._pipeline = pipeline
        self._link = link
        self._relay = relay
        self._owner = owner

    @property
    def here(self) -> bool:
        """Whether this instance's pipeline holds the picture: it owns the PBX, or no relay
        brings another owner's."""
        return self._owner.owner or not self._relay.state.configured

    async def calls(self, viewer: Viewer) -> tuple[list[dict[str, Any]], str]:
        """The calls this viewer may see, and the PBX link's state. Raises RelayDown when
        the owner's view cannot be read."""
        if self.here:
            return self._pipeline.live_calls(viewer), self.link_view()
        calls, link = await self._relay.owner_calls()
        return calls_for(calls, viewer.role, viewer.endpoint), link

    async def call(self, call_id: str) -> LiveCall | None:
        if self.here:
            return self._pipeline.live_call(call_id)
        calls, _ = await self._relay.owner_calls()
        for view in calls:
            if view.get("call_id") == call_id:
                return live_call_of(view)
        return None

    # -- the relay's Owner ----------------------------------------------------------------

    def owns(self) -> bool:
        return self._owner.owner

    def owner_view(self) -> list[dict[str, Any]] | None:
        return self._pipeline.all_live_calls() if self._owner.owner else None

    def link_view(self) -> str:
        return str(self._link.snapshot().status) if pbx_configured(self._link) else "not configured"

    def acked(self, message_id: int, endpoint: str | None, at: float) -> bool:
        return self._pipeline.pops.acked(message_id, endpoint, at)


def the_live_calls(request: HTTPConnection) -> LiveCalls:
    """The running service's (app/wiring.py puts the parts on the app)."""
    return cast(LiveCalls, request.app.state.parts.live_calls)


LiveCallsDep = Annotated[LiveCalls, Depends(the_live_calls)]
