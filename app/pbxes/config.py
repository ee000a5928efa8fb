"""The PBXs a deployment attaches to: each named, with its AMI URL and its trunks.

One PBX needs no list: ``CALLASSIST_AMI_URL`` and ``CALLASSIST_TRUNKS`` describe it, and it
is the ``default`` PBX. Several are listed in ``CALLASSIST_PBXES``, a JSON list:

    [{"name": "default", "ami_url": "ami://callassist:...@10.0.0.5:5038",
      "trunks": "PJSIP/2001"},
     {"name": "south", "ami_url": "ami://callassist:...@10.1.0.5:5038",
      "trunks": "PJSIP/carrier-*"}]

A call is named by (pbx, Linkedid): the ``default`` PBX's calls keep their bare Linkedid as
their id (so a centre that adds a PBX keeps its call ids and its records), every other
PBX's calls are ``<pbx>:<Linkedid>`` (telephony/scope.py puts the name in front at the
link). Pure: parsing and checking, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from app.pbxes.ids import DEFAULT_PBX, NAME_PATTERN, id_scope
from telephony.ami.config import LinkConfig
from telephony.scope import IdScope

MAX_PBXES = 32


class PbxEntry(BaseModel):
    """One item of CALLASSIST_PBXES, as written."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    ami_url: SecretStr
    trunks: str = ""
    recordings_dir: Path | None = None  # its MixMonitor files; None: CALLASSIST_RECORDINGS_DIR


@dataclass(frozen=True, slots=True)
class Pbx:
    """A PBX as the service uses it: its name, where its AMI is (None: not configured, the
    service runs without live calls) and its trunks' patterns."""

    name: str = DEFAULT_PBX
    ami_url: SecretStr | None = field(default=None, repr=False)
    trunks: str = ""
    recordings_dir: Path | None = None

    @property
    def ids(self) -> IdScope:
        return id_scope(self.name)

    def link_config(self) -> LinkConfig | None:
        if self.ami_url is None:
            return None
        return LinkConfig.from_url(self.ami_url.get_secret_value(), ids=self.ids)


_ENTRIES = TypeAdapter(list[PbxEntry])


def parse_pbxes(text: str) -> tuple[Pbx, ...]:
    """CALLASSIST_PBXES's PBXs; ValueError naming what is wrong, never echoing a value (the
    AMI URLs hold passwords)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON (line {error.lineno}, column {error.colno})") from None
    try:
        entries = _ENTRIES.validate_python(raw)
    except ValidationError as error:
        problem = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ValueError(f"{where}: {problem['msg']}" if where else problem["msg"]) from None
    return _checked(entries)


def _checked(entries: list[PbxEntry]) -> tuple[Pbx, ...]:
    if not entries:
        raise ValueError("an empty list: name one PBX at least, or use CALLASSIST_AMI_URL")
    if len(entries) > MAX_PBXES:
        raise ValueError(f"{len(entries)} PBXs: at most {MAX_PBXES}")
    seen: set[str] = set()
    for number, entry in enumerate(entries):
        if entry.name.lower() in seen:
            raise ValueError(f"{number}.name: {entry.name!r} is named twice")
        seen.add(entry.name.lower())
        try:
            LinkConfig.from_url(entry.ami_url.get_secret_value())
        except ValueError as error:
            raise ValueError(f"{number}.ami_url ({entry.name}): {error}") from None
    return tuple(Pbx(e.name, e.ami_url, e.trunks, e.recordings_dir) for e in entries)
