"""The shift-start equipment check, as recorded: the procedure says lines and phones are
checked before a shift, and a supervisor can later see that they were."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.db.tables import ShiftCheck, User

# Above this round trip between the console and the service, the console will feel slow.
SLOW_RTT_MS = 300.0

PROBLEMS = {
    "no_endpoint": "No phone is assigned to your login: ask a supervisor to set your endpoint.",
    "not_registered": "Your phone is not registered with the PBX: check that it is plugged in"
    " and logged in.",
    "unreachable": "Your phone is registered but does not answer the PBX: check its network"
    " cable or Wi-Fi, and your headset.",
    "unknown": "The PBX could not tell whether your phone is reachable.",
    "link_down": "callassist is not connected to the PBX: calls will not pop until it is back."
    " Tell IT.",
    "slow": "The connection to callassist is slow: screen pops may come late.",
}


@dataclass(frozen=True, slots=True)
class Equipment:
    """What the PBX side said; None where it could not be asked."""

    link_up: bool
    link_status: str
    registered: bool | None = None
    reachable: bool | None = None
    contact_status: str | None = None
    contact_roundtrip_ms: float | None = None


def problems_of(endpoint: str | None, equipment: Equipment, rtt_ms: float | None) -> list[str]:
    codes = []
    if endpoint is None:
        codes.append("no_endpoint")
    elif equipment.registered is False:
        codes.append("not_registered")
    elif equipment.reachable is False:
        codes.append("unreachable")
    elif equipment.link_up and equipment.reachable is None:
        codes.append("unknown")
    if not equipment.link_up:
        codes.append("link_down")
    if rtt_ms is not None and rtt_ms > SLOW_RTT_MS:
        codes.append("slow")
    return codes


def record(
    db: Session, user: User, equipment: Equipment, rtt_ms: float | None, now: float
) -> dict[str, Any]:
    codes = problems_of(user.endpoint, equipment, rtt_ms)
    check = ShiftCheck(
        user_id=user.id or 0,
        endpoint=user.endpoint,
        checked_at=now,
        ok=not codes,
        registered=equipment.registered,
        reachable=equipment.reachable,
        contact_status=equipment.contact_status,
        contact_roundtrip_ms=equipment.contact_roundtrip_ms,
        link_up=equipment.link_up,
        link_status=equipment.link_status,
        rtt_ms=rtt_ms,
        problems=codes,
    )
    db.add(check)
    db.commit()
    db.refresh(check)
    return view(check)


def latest(db: Session, user: User) -> dict[str, Any] | None:
    check = db.exec(
        select(ShiftCheck)
        .where(ShiftCheck.user_id == user.id)
        .order_by(col(ShiftCheck.checked_at).desc())
        .limit(1)
    ).first()
    return None if check is None else view(check)


def view(check: ShiftCheck) -> dict[str, Any]:
    return {
        "id": check.id,
        "ok": check.ok,
        "checked_at": check.checked_at,
        "endpoint": {
            "name": check.endpoint,
            "registered": check.registered,
            "reachable": check.reachable,
            "status": check.contact_status,
            "roundtrip_ms": check.contact_roundtrip_ms,
        },
        "link": {"up": check.link_up, "status": check.link_status},
        "rtt_ms": check.rtt_ms,
        "codes": list(check.problems),
        "problems": [PROBLEMS[code] for code in check.problems if code in PROBLEMS],
    }
