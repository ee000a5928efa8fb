"""What the status page, the line board and the metrics read: the whole running service,
seen through a protocol so that none imports the composition root (app.wiring.Parts fits
it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.callbacks.desk import CallbackDesk
from app.console.call_scripts.catalog import Catalog
from app.db.engine import Database
from app.incidents.desk import IncidentDesk
from app.lines.pbx_check import PbxChecker
from app.live.hub import Hub
from app.live.no_pbx import NoPbx, PbxLink
from app.live.pipeline import Pipeline
from app.live.relay import Relay, RelayState
from app.ownership.desk import Ownership
from app.records.desk import RecordWriter
from app.settings import Settings
from app.status.schemas import LinkStatus, PbxOwnerStatus, RelayStatus


class PbxParts(Protocol):
    """One PBX's parts (app/wiring.py's PbxTerm)."""

    @property
    def writer(self) -> RecordWriter: ...
    @property
    def link(self) -> PbxLink: ...
    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def pbx_check(self) -> PbxChecker: ...
    @property
    def callbacks(self) -> CallbackDesk: ...
    @property
    def incidents(self) -> IncidentDesk: ...


class PbxView(Protocol):
    """One PBX on this instance (app/wiring.py's PbxSide)."""

    @property
    def name(self) -> str: ...
    @property
    def term(self) -> PbxParts: ...
    @property
    def ownership(self) -> Ownership: ...


class ServiceView(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def database(self) -> Database: ...
    @property
    def pbxes(self) -> Sequence[PbxView]: ...
    @property
    def hub(self) -> Hub: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def relay(self) -> Relay: ...
    @property
    def started_at(self) -> float: ...


def service_view(request: HTTPConnection) -> ServiceView:
    """The running service (app/wiring.py puts the parts on the app)."""
    return cast(ServiceView, request.app.state.parts)


ServiceDep = Annotated[ServiceView, Depends(service_view)]


def link_status(link: PbxLink) -> LinkStatus:
    if isinstance(link, NoPbx):
        return LinkStatus()
    state = LinkStatus.model_validate(link.snapshot(), from_attributes=True)
    return state.model_copy(update={"configured": True, "address": link.settings.address})


def owner_status(ownership: Ownership) -> PbxOwnerStatus:
    state = ownership.state
    return PbxOwnerStatus(
        pbx=state.pbx,
        pbx_owner=state.owner,
        owner=state.owner_name,
        instance=state.instance,
        owner_since=state.since,
        locked=ownership.locked,
        terms=state.terms,
        losses=state.losses,
    )


def relay_status(state: RelayState) -> RelayStatus:
    return RelayStatus.model_validate(state, from_attributes=True)
