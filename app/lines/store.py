"""The lines as the IT board shows them: every trunk and phone with its state, and the drop
rate per trunk over time.

Line states come from the line watch (in memory: ContactStatus events and the contact listing
re-read after each login); who sits at a phone comes from the users; drop rates from the
stored calls (calls.trunk, calls.outcome, calls.ended_at).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from app.db.tables import CallRow, User
from app.pbxes.ids import DEFAULT_PBX
from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import UNKNOWN, FaultSignal, LineStatus

_WILDCARDS = set("*?[")


def agent_names(db: Session, pbx: str | None = None) -> dict[str, str]:
    """Endpoint -> the display name of the active user at it: on that PBX's phones (a
    board of one PBX lists its own agents), or (None) on every PBX's."""
    wanted: list[ColumnElement[bool]] = [
        col(User.endpoint).is_not(None),
        col(User.active).is_(True),
    ]
    if pbx is not None:
        wanted.append(col(User.pbx) == pbx)
    rows = db.exec(select(User.endpoint, User.display_name).where(*wanted)).all()
    return {endpoint: name for endpoint, name in rows if endpoint}


def endpoint_view(
    line: LineStatus,
    trunks: TrunkPlan,
    names: Mapping[str, str],
    last_fault: FaultSignal | None = None,
    *,
    pbx: str = DEFAULT_PBX,
) -> dict[str, Any]:
    """One line of a PBX's board: an endpoint's name is its PBX's, so the view says which."""
    return {
        "pbx": pbx,
        "endpoint": line.endpoint,
        "kind": "trunk" if trunks.is_trunk(line.endpoint) else "agent",
        "state": line.state,
        "roundtrip_ms": line.roundtrip_ms,
        "last_change_at": line.last_change_at,
        "agent": names.get(line.endpoint),
        "last_fault": _fault_view(last_fault),
    }


def _fault_view(fault: FaultSignal | None) -> dict[str, Any] | None:
    if fault is None:
        return None
    return {"fault": fault.fault, "at": fault.at, "detail": fault.detail}


def line_board(
    lines: Mapping[str, LineStatus],
    trunks: TrunkPlan,
    names: Mapping[str, str],
    last_faults: Mapping[str, FaultSignal] | None = None,
    *,
    pbx: str = DEFAULT_PBX,
) -> list[dict[str, Any]]:
    """Every line the watch has seen, plus the agents' phones and the named trunks it has
    not (state unknown): a phone that never said a word is still on the board. Trunks
    first, then by endpoint."""
    known = dict(lines)
    faults = last_faults or {}
    named_trunks = (p for p in trunks.patterns if not _WILDCARDS & set(p))
    for endpoint in (*names, *named_trunks):
        known.setdefault(endpoint, LineStatus(endpoint, UNKNOWN, None, None))
    views = [
        endpoint_view(line, trunks, names, faults.get(e), pbx=pbx) for e, line in known.items()
    ]
    return sorted(views, key=lambda v: (v["kind"] != "trunk", v["endpoint"]))


def drop_rates(db: Session, *, since: float, until: float, bucket_seconds: float) -> dict[str, Any]:
    """Calls and dropped calls per trunk of each PBX (two PBXs may name a trunk alike: each
    is a line of its own), in total and per time bucket (for a chart)."""
    rows = db.exec(
        select(CallRow.pbx, CallRow.trunk, CallRow.outcome, CallRow.ended_at).where(
            col(CallRow.trunk).is_not(None),
            col(CallRow.ended_at) >= since,
            col(CallRow.ended_at) < until,
        )
    ).all()
    count = max(1, math.ceil((until - since) / bucket_seconds))
    per_trunk: dict[tuple[str, str], list[list[int]]] = {}
    for pbx, trunk, outcome, ended_at in rows:
        if trunk is None or ended_at is None:
            continue
        line = (pbx, trunk)
        buckets = per_trunk.setdefault(line, [[0, 0] for _ in range(count)])
        bucket = buckets[min(count - 1, int((ended_at - since) // bucket_seconds))]
        bucket[0] += 1
        bucket[1] += outcome == "dropped"
    return {
        "since": since,
        "until": until,
        "bucket_seconds": bucket_seconds,
        "trunks": [
            _trunk_rates(line, per_trunk[line], since, bucket_seconds) for line in sorted(per_trunk)
        ],
    }


def _trunk_rates(
    line: tuple[str, str], buckets: Iterable[list[int]], since: float, bucket_seconds: float
) -> dict[str, Any]:
    listed = [
        {"start": since + index * bucket_seconds, "calls": calls, "dropped": dropped}
        for index, (calls, dropped) in enumerate(buckets)
    ]
    calls = sum(b["calls"] for b in listed)
    dropped = sum(b["dropped"] for b in listed)
    pbx, trunk = line
    return {
        "pbx": pbx,
        "trunk": trunk,
        "calls": calls,
        "dropped": dropped,
        "rate": round(dropped / calls, 4) if calls else 0.0,
        "buckets": listed,
    }
