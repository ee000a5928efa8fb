"""The answers a route may give instead of its own, declared once for the OpenAPI schema.

A router states which of them its routes can give (``APIRouter(responses=...)``), a route
adds its own (404, 409, ...). tests/service/test_generated_requests.py holds the schema to
it: every status code the service answers must be declared, with the body it declares.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Answers = dict[int | str, dict[str, Any]]


class Problem(BaseModel):
    """Why the request was not done, in words a person understands."""

    detail: str


class FieldProblem(BaseModel):
    """One field that does not fit (FastAPI's own validation error)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description='where: ["query", "limit"], ["body", "note"]...')
    msg: str
    type: str


class Refusal(BaseModel):
    """A request refused as it is: the fields that do not fit, or why in words."""

    detail: str | list[FieldProblem]


class Conflict(BaseModel):
    """Not possible now; ``allowed`` names what is, when the workflow says."""

    detail: str
    allowed: list[str] = Field(
        default_factory=list, description="the moves or statuses allowed now"
    )


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


# RefuseNul (app/web/guards.py) answers a NUL anywhere in the path, query or body with a
# 422 before any route runs: every operation can give it, with or without parameters.
BAD_INPUT: Answers = {
    422: {
        "model": Refusal,
        "description": "the request does not fit: detail lists the fields (a NUL character"
        " anywhere in the request is refused so before any route runs), or says why",
    }
}
LOGIN: Answers = {
    401: problem("no bearer token, or one expired, forged or of a login no longer valid")
}
ROLE: Answers = {403: problem("your role may not do this")}
# FastAPI's own answer to a JSON body it cannot decode (not UTF-8): routes that read a body.
UNREADABLE: Answers = {400: problem("the body cannot be read: it is not UTF-8 text")}
# An instance that does not own the PBX and cannot reach Redis cannot tell which calls are
# in progress (app/live/calls.py): routes that need to.
LIVE_UNKNOWN: Answers = {
    503: problem("the calls in progress cannot be read on this instance now; try again")
}
# A route whose question only the PBX's owner answers (app/ownership/answers.py), asked on
# another instance that cannot reach it (Redis down, or no owner answering in time).
OWNER_UNREACHABLE: Answers = {
    503: problem("the PBX's owner (another instance) cannot be asked now; try again")
}

PUBLIC: Answers = {**BAD_INPUT}
SIGNED_IN: Answers = {**LOGIN, **BAD_INPUT}
ROLES: Answers = {**LOGIN, **ROLE, **BAD_INPUT}


def as_json(answers: Answers) -> Answers:
    """``answers`` for a route whose own answer is not JSON (CSV, text): FastAPI would
    declare a model's body in the route's media type, but these answers are JSON. The models
    are in the schema's components because other routes declare them."""
    return {
        code: {
            key: value for key, value in answer.items() if key != "model"
        } | {"content": {"application/json": {"schema": {"$ref": _ref(answer["model"])}}}}
        for code, answer in answers.items()
    }


def _ref(model: type[BaseModel]) -> str:
    return f"#/components/schemas/{model.__name__}"


def not_found(what: str) -> Answers:
    return {404: problem(f"no such {what}, or none you may see")}


def conflict(description: str) -> Answers:
    return {409: {"model": Conflict, "description": description}}
