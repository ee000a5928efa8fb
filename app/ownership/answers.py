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

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

from app.callbacks import store as callbacks
from app.callbacks.desk import CallbackDesk, PbxUnavailable
from app.db.engine import Database
from app.incidents import store as incidents
from app.lines import store as lines
from app.lines.desk import LineDesk
from app.live.calls import LiveCalls
from app.live.no_pbx import PbxLink
from app.live.pipeline import Pipeline
from app.live.relay import Relay, RelayDown
from app.shift_checks.desk import read_equipment
from app.status.view import link_status
from telephony.calls.trunks import TrunkPlan

SNAPSHOT_ASK_WITHIN = 1.0  # seconds a console's snapshot waits for the owner's answer
Answer = dict[str, Any]  # {"ok": value} or {"error": {"status": int, "detail": str}}


class Refused(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


class OwnerAnswers:
    """The owner's side: each question's handler over this instance's PBX-facing parts."""

    def __init__(
        self,
        callbacks: CallbackDesk,
        link: PbxLink,
        lines: LineDesk,
        pipeline: Pipeline,
        *,
        database: Database,
        trunks: TrunkPlan,
    ) -> None:
        self._callbacks, self._link, self._lines = callbacks, link, lines
        self._pipeline, self._database, self._trunks = pipeline, database, trunks
        self._handlers: dict[str, Callable[..., Awaitable[Any]]] = {
            "dial": self._dial,
            "equipment": self._equipment,
            "line_board": self._line_board,
            "endpoint_fault": self._endpoint_fault,
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
            return await self._callbacks.dial(callback_id, agent)
        except callbacks.CallbackNotFound as error:
            raise Refused(status.HTTP_404_NOT_FOUND, str(error)) from None
        except callbacks.CallbackError as error:
            raise Refused(status.HTTP_409_CONFLICT, str(error)) from None
        except PbxUnavailable as error:
            raise Refused(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from None

    async def _equipment(self, endpoint: str | None) -> dict[str, Any]:
        return dataclasses.asdict(await read_equipment(self._link, endpoint))

    async def _endpoint_fault(self, endpoint: str) -> str | None:
        return self._pipeline.endpoint_fault(endpoint)

    async def _line_board(self) -> dict[str, Any]:
        names, active = await self._database.run(
            lambda s: (lines.agent_names(s), sum(incidents.active_by_level(s).values()))
        )
        desk = self._lines
        endpoints = lines.line_board(desk.lines, self._trunks, names, desk.last_faults)
        board = {"endpoints": endpoints, "incidents_active": active}
        return {**board, "link": link_status(self._link).model_dump()}


def _error(status_code: int, detail: str) -> Answer:
    return {"error": {"status": status_code, "detail": detail}}


class AtOwner:
    """Where a route's PBX question is answered: here while this instance owns the PBX (or
    runs alone), else by the owner through the relay."""

    def __init__(self, live: LiveCalls, relay: Relay, answers: OwnerAnswers) -> None:
        self._live, self._relay, self._answers = live, relay, answers

    async def endpoint_fault(self, endpoint: str) -> str | None:
        """The fault state of an agent's phone for their console's snapshot; None when the
        owner does not answer at once (a takeover under way): the snapshot does not wait,
        and the next line.fault message says it."""
        try:
            fault: str | None = await asyncio.wait_for(
                self.ask("endpoint_fault", endpoint=endpoint), SNAPSHOT_ASK_WITHIN
            )
        except (HTTPException, TimeoutError):
            return None
        return fault

    async def ask(self, kind: str, **args: Any) -> Any:
        """The answer's value; HTTPException with the owner's status when it refused, 503
        when no owner could be asked."""
        if self._live.here:
            answer = await self._answers.answer(kind, args)
        else:
            try:
                answer = await self._relay.ask(kind, args)
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
