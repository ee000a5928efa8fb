"""What only the PBX's owner can answer, asked by a route on any instance (issue 16).

Dialling a callback, reading an agent's phone at the shift check, the line board's state of
every trunk and phone: each needs the AMI link or the line watch, which only the owner runs.
Behind a proxy a request lands on any instance, so a route asks ``AtOwner``: on the owner
the answer is computed here at once; on another instance the question goes to the owner
through the relay (app/live/relay.py) and comes back as the same plain data. One path for
both, so a route says the same thing whichever instance serves it, and never that "the PBX
link is down" only because this instance does not hold it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Protocol, cast

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

from app.callbacks import store as callbacks
from app.callbacks.desk import CallbackDesk, PbxUnavailable
from app.db.engine import Database
from app.incidents import store as incidents
from app.lines import store as lines
from app.lines.desk import LineDesk
from app.lines.pbx_check import PbxChecker
from app.live.calls import LiveCalls
from app.live.no_pbx import PbxLink
from app.live.pipeline import Pipeline
from app.live.relay import Relay, RelayDown
from app.pbxes.config import Pbx
from app.settings import Settings
from app.shift_checks.desk import read_equipment
from app.status.view import link_status

# Seconds a snapshot or the status page waits for the owner's answer: they must not hang
# while an owner has died and the next has not taken over yet.
QUICK_ANSWER_WITHIN = 1.0
Answer = dict[str, Any]  # {"ok": value} or {"error": {"status": int, "detail": str}}


class Refused(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


class OwnerParts(Protocol):
    """The PBX-facing parts the answers read (app/wiring.py's PbxTerm)."""

    @property
    def link(self) -> PbxLink: ...
    @property
    def callbacks(self) -> CallbackDesk: ...
    @property
    def lines(self) -> LineDesk: ...
    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def pbx_check(self) -> PbxChecker: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def pbx(self) -> Pbx: ...


class OwnerAnswers:
    """The owner's side: each question's handler over this instance's PBX-facing parts."""

    def __init__(self, parts: OwnerParts, database: Database) -> None:
        self._parts, self._database = parts, database
        self._handlers: dict[str, Callable[..., Awaitable[Any]]] = {
            "dial": self._dial,
            "equipment": self._equipment,
            "line_board": self._line_board,
            "endpoint_fault": self._endpoint_fault,
            "pbx_status": self._pbx_status,
        }

    async def answer(self, kind: str, args: dict[str, Any]) -> Answer:
        handler = self._handlers.get(kind)
        if handler is None:
            return _error(status.HTTP_400_BAD_REQUEST, f"no such question: {kind!r}")
        try:
            return {"ok": await handler(**args)}
        except Refused as refused:
            return _error(refused.status_code, refused.detail)
        except TypeError as error:  # arguments that do not fit: another version asked
            return _error(status.HTTP_400_BAD_REQUEST, str(error))

    async def _dial(self, callback_id: int, agent: str) -> dict[str, Any]:
        try:
            return await self._parts.callbacks.dial(callback_id, agent)
        except callbacks.CallbackNotFound as error:
            raise Refused(status.HTTP_404_NOT_FOUND, str(error)) from None
        except callbacks.CallbackError as error:
            raise Refused(status.HTTP_409_CONFLICT, str(error)) from None
        except PbxUnavailable as error:
            raise Refused(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None

    async def _equipment(self, endpoint: str | None) -> dict[str, Any]:
        return dataclasses.asdict(await read_equipment(self._parts.link, endpoint))

    async def _endpoint_fault(self, endpoint: str) -> str | None:
        return self._parts.pipeline.endpoint_fault(endpoint)

    async def _pbx_status(self) -> dict[str, Any]:
        parts = self._parts
        return pbx_side(parts.link, parts.pbx_check, parts.pipeline)

    async def _line_board(self) -> dict[str, Any]:
        """This PBX's trunks and phones; the incidents active on every PBX (the board's
        count is the centre's)."""
        desk = self._parts.lines
        names, active = await self._database.run(
            lambda s: (lines.agent_names(s, desk.pbx), sum(incidents.active_by_level(s).values()))
        )
        trunks = self._parts.settings.trunk_plan_of(self._parts.pbx)
        endpoints = lines.line_board(desk.lines, trunks, names, desk.last_faults, pbx=desk.pbx)
        board = {"endpoints": endpoints, "incidents_active": active}
        return {**board, "link": link_status(self._parts.link).model_dump()}


def pbx_side(link: PbxLink, pbx_check: PbxChecker, pipeline: Pipeline) -> dict[str, Any]:
    """The AMI link, the PBX check and the calls in progress, for /api/status: the owner's
    answer, or this instance's own when no owner can be asked."""
    return {
        "ami": link_status(link).model_dump(),
        "pbx": pbx_check.result.as_dict(),
        "live_calls": pipeline.live_count,
    }


def _error(status_code: int, detail: str) -> Answer:
    return {"error": {"status": status_code, "detail": detail}}


class PbxAnswers:
    """This instance's answers for each PBX (what the relay asks of it, too)."""

    def __init__(self, answers: Mapping[str, OwnerAnswers]) -> None:
        self._answers = dict(answers)

    async def answer(self, pbx: str, kind: str, args: dict[str, Any]) -> Answer:
        answers = self._answers.get(pbx)
        if answers is None:
            return _error(status.HTTP_404_NOT_FOUND, f"no such PBX: {pbx!r}")
        return await answers.answer(kind, args)


class AtOwner:
    """Where a route's PBX question is answered: here while this instance owns the PBX (or
    runs alone), else by the owner through the relay."""

    def __init__(self, live: LiveCalls, relay: Relay, answers: PbxAnswers) -> None:
        self._live, self._relay, self._answers = live, relay, answers

    @property
    def pbxes(self) -> list[str]:
        """Every PBX's name, in the order the settings name them."""
        return self._live.names

    async def endpoint_fault(self, pbx: str, endpoint: str) -> str | None:
        """The fault state of an agent's phone for their console's snapshot; None when the
        owner does not answer at once (a takeover under way): the snapshot does not wait,
        and the next line.fault message says it."""
        try:
            fault: str | None = await self.ask(
                "endpoint_fault", pbx=pbx, within=QUICK_ANSWER_WITHIN, endpoint=endpoint
            )
        except HTTPException:
            return None
        return fault

    async def ask(
        self, kind: str, *, pbx: str, within: float | None = None, **args: Any
    ) -> Any:
        """The answer's value; HTTPException with the owner's status when it refused (404:
        no such PBX), 503 when no owner could be asked (none answered ``within`` seconds: a
        takeover under way, or the relay's limit, long enough for an Originate)."""
        if not self._live.known(pbx):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such PBX: {pbx!r}")
        if self._live.here(pbx):
            answer = await self._answers.answer(pbx, kind, args)
        else:
            try:
                answer = await self._relay.ask(pbx, kind, args, within)
            except RelayDown as down:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE, f"the PBX's owner cannot be asked: {down}"
                ) from None
        error = answer.get("error")
        if error is not None:
            raise HTTPException(int(error["status"]), str(error["detail"]))
        return answer["ok"]


def the_owner(request: HTTPConnection) -> AtOwner:
    """The running service's (app/wiring.py puts the parts on the app)."""
    return cast(AtOwner, request.app.state.parts.at_owner)


AtOwnerDep = Annotated[AtOwner, Depends(the_owner)]
