"""The review parts the routes are handed: the scorecard in use and the adherence rules
(built once by app/wiring.py from the settings)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.review.adherence import AdherenceRules
from app.review.scorecards.loader import Scorecard


def the_scorecard(request: HTTPConnection) -> Scorecard:
    return cast(Scorecard, request.app.state.parts.scorecard)


def the_adherence_rules(request: HTTPConnection) -> AdherenceRules:
    return cast(AdherenceRules, request.app.state.parts.adherence_rules)


ScorecardDep = Annotated[Scorecard, Depends(the_scorecard)]
AdherenceDep = Annotated[AdherenceRules, Depends(the_adherence_rules)]
