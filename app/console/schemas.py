"""The agent console's requests and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ActionKind = Literal["set", "next", "back", "branch", "refer", "note", "hangup", "wrap_up"]
PRINTABLE_ID = r"^[A-Za-z0-9._:-]+$"
MAX_VALUE = 4000


class ActionRequest(BaseModel):
    """One thing the agent did in the call script. ``action_id`` is the console's own id for
    it: sending the same action again (an offline queue, a retry) applies it once."""

    action_id: str = Field(min_length=1, max_length=64, pattern=PRINTABLE_ID)
    kind: ActionKind
    field: str | None = Field(default=None, max_length=64)
    value: str | bool | None = Field(default=None, description="for set; max 4000 characters")
    values: dict[str, str | bool] | None = Field(default=None, description="for next")
    branch: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=20_000, description="for note")
    disposition: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=20_000)
    at: float | None = Field(default=None, description="when the agent did it (epoch seconds)")

    @field_validator("value")
    @classmethod
    def _short_value(cls, value: str | bool | None) -> str | bool | None:
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise ValueError(f"a field value holds at most {MAX_VALUE} characters")
        return value


class Effect(BaseModel):
    kind: Literal["complaint", "transfer", "emergency", "callback"]
    model_config = ConfigDict(extra="allow")


class ActionResult(BaseModel):
    session: dict[str, Any] = Field(description="the call-script session as the console shows it")
    effects: list[Effect] = []
    errors: dict[str, str] = Field(default={}, description="field name -> what is wrong")
    duplicate: bool = Field(default=False, description="this action_id was applied before")


class ConsoleCall(BaseModel):
    call: dict[str, Any]
    caller: dict[str, Any] = Field(
        description="number, name known from earlier calls, last_calls, open_complaints,"
        " pending_callbacks"
    )
    session: dict[str, Any] | None
    incidents: list[dict[str, Any]] = Field(
        default=[], description="line faults affecting the call now: {id, kind, location,"
        " level, status} (the console offers the line-fault procedure)"
    )


class ConsoleOverview(BaseModel):
    company: str
    sessions: list[dict[str, Any]]
    call_script_errors: list[str] = Field(
        default=[], description="call script files that were refused, file:line: problem"
    )
