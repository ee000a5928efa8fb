"""QA finds calls: every filter, sorting, paging, the CSV of exactly the same rows, and the
recording streamed with range requests. The records are written straight to the database
(the recorder has its own tests); what is under test is what QA gets back."""

from __future__ import annotations

import csv
import io
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from app.db.engine import Database
from app.db.tables import Callback, CallParty, CallRow, Complaint, User
from telephony.simulator.server import AmiServer
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio

T0 = 1_790_000_000.0
CALLS: tuple[dict[str, Any], ...] = (
    # call_id, agent, customer, queue, outcome, started (hours after T0), disposition, score,
    # search text, talk seconds
    dict(call_id="c1", agent="PJSIP/1001", customer="+861", queue="support", outcome="completed",
         hours=1, disposition="resolved", score=92.5, text="Router reset fixed it", talk=300),
    dict(call_id="c2", agent="PJSIP/1002", customer="+862", queue="support", outcome="dropped",
         hours=2, disposition="callback", score=40.0, text="line went dead 100% sure", talk=45),
    dict(call_id="c3", agent="PJSIP/1001", customer="+861", queue="sales", outcome="completed",
         hours=3, disposition="complaint_filed", score=None, text="投诉 网络很慢", talk=120),
    dict(call_id="c4", agent=None, customer="+863", queue="support", outcome="abandoned",
         hours=4, disposition=None, score=None, text="", talk=None),
    dict(call_id="c5", agent="PJSIP/1002", customer="+864", queue=None, outcome="completed",
         hours=5, disposition="resolved", score=75.0, text="wants a new plan", talk=600),
)


def seed(url: str, recordings: Path) -> dict[str, int]:
    """The calls above, with parties, a complaint on c3, a callback on c2, c1's recording."""
    database = Database(url)
    ids: dict[str, int] = {}
    with database.session() as db:
        for spec in CALLS:
            started = T0 + spec["hours"] * 3600
            row = CallRow(
                call_id=spec["call_id"], status="ended", direction="inbound",
                customer=spec["customer"], agent=spec["agent"], queue=spec["queue"],
                started_at=started, answered_at=started + 5 if spec["agent"] else None,
                ended_at=started + 5 + (spec["talk"] or 0), talk_seconds=spec["talk"],
                hold_seconds=0.0, outcome=spec["outcome"], ended_by="customer",
                disposition=spec["disposition"], score=spec["score"],
                search_text=spec["text"].lower(),  # as the console stores it
                recording=f"/var/spool/asterisk/monitor/{spec['call_id']}.wav",
                updated_at=started,
            )
            db.add(row)
            db.flush()
            assert row.id is not None
            ids[spec["call_id"]] = row.id
            if spec["agent"]:
                party = CallParty(call_pk=row.id, endpoint=spec["agent"], connected=True)
                db.add(party)
        db.add(Complaint(call_pk=None, call_id="c3", customer="+861", content="slow",
                         category="network", severity="high", created_at=T0, updated_at=T0))
        db.add(Callback(call_pk=ids["c2"], customer="+862", reason="dropped", created_at=T0,
                        updated_at=T0))
        db.commit()
    database.dispose()
    with wave.open(str(recordings / "c1.wav"), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x00\x01" * 8000)  # one second
    return ids


async def found(service: Service, **params: Any) -> list[str]:
    reply = await service.get("/api/calls", "qa", **params)
    assert reply.status_code == 200, reply.text
    return [item["call_id"] for item in reply.json()["items"]]


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "monitor"
    folder.mkdir()
    return folder


async def test_every_filter_finds_exactly_its_calls(
    database_url: str, pbx: AmiServer, recordings: Path
) -> None:
    seed(database_url, recordings)
    async with running_service(database_url, pbx, recordings_dir=recordings) as service:
        assert await found(service) == ["c5", "c4", "c3", "c2", "c1"]
        assert await found(service, since=T0 + 2 * 3600, until=T0 + 4 * 3600) == ["c3", "c2"]
        assert await found(service, agent="PJSIP/1001") == ["c3", "c1"]
        assert await found(service, customer="+861") == ["c3", "c1"]
        assert await found(service, queue="support") == ["c4", "c2", "c1"]
        assert await found(service, outcome="dropped") == ["c2"]
        assert await found(service, has_callback="true") == ["c2"]
        assert await found(service, has_complaint="true") == ["c3"]
        assert await found(service, has_complaint="false") == ["c5", "c4", "c2", "c1"]
        assert await found(service, disposition="resolved") == ["c5", "c1"]
        assert await found(service, score_min=70) == ["c5", "c1"]
        assert await found(service, score_min=50, score_max=80) == ["c5"]
        assert await found(service, q="ROUTER") == ["c1"]
        assert await found(service, q="网络") == ["c3"]
        assert await found(service, q="100%") == ["c2"]  # a % is a character, not a wildcard
        assert await found(service, q="%") == ["c2"]
        assert await found(service, queue="support", outcome="completed") == ["c1"]
        refused = await service.get("/api/calls", "qa", score_min=80, score_max=20)
        assert refused.status_code == 422


async def test_sorting_and_paging_walk_every_call_once(
    database_url: str, pbx: AmiServer, recordings: Path
) -> None:
    seed(database_url, recordings)
    async with running_service(database_url, pbx, recordings_dir=recordings) as service:
        assert await found(service, sort="talk_seconds", order="desc") == [
            "c5", "c1", "c3", "c2", "c4"  # no talk time: last, whichever the order
        ]
        assert await found(service, sort="talk_seconds", order="asc") == [
            "c2", "c3", "c1", "c5", "c4"
        ]
        assert await found(service, sort="score", order="desc") == ["c1", "c5", "c2", "c4", "c3"]
        pages = [await found(service, sort="customer", order="asc", limit=2, offset=o)
                 for o in (0, 2, 4)]
        # Equal customers (c1, c3) stay in row order: no call is on two pages or on none.
        assert [c for page in pages for c in page] == ["c1", "c3", "c2", "c4", "c5"]
        reply = await service.get("/api/calls", "qa", limit=2)
        assert reply.json()["total"] == 5
        assert (await service.get("/api/calls", "qa", sort="password")).status_code == 422


async def test_the_csv_holds_exactly_what_the_filters_show(
    database_url: str, pbx: AmiServer, recordings: Path
) -> None:
    seed(database_url, recordings)
    async with running_service(database_url, pbx, recordings_dir=recordings) as service:
        params = {"queue": "support", "sort": "started_at", "order": "asc"}
        shown = await found(service, **params)
        reply = await service.get("/api/calls.csv", "qa", **params)
        assert reply.content.startswith("\ufeff".encode())
        rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
        assert [row["call_id"] for row in rows] == shown == ["c1", "c2", "c4"]
        assert rows[0]["disposition"] == "resolved"
        assert rows[0]["score"] == "92.5"
        assert (await service.get("/api/calls.csv", "agent1")).status_code == 403


async def get_recording(
    service: Service, call_pk: int, username: str = "qa", **headers: str
) -> httpx.Response:
    token = await service.login(username)
    return await service.client.get(
        f"/api/calls/{call_pk}/recording", params={"token": token}, headers=headers
    )


async def test_the_recording_streams_in_ranges_to_those_who_may_hear_it(
    database_url: str, pbx: AmiServer, recordings: Path
) -> None:
    ids = seed(database_url, recordings)
    size = (recordings / "c1.wav").stat().st_size
    async with running_service(database_url, pbx, recordings_dir=recordings) as service:
        whole = await get_recording(service, ids["c1"])
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "audio/wav"
        assert whole.headers["accept-ranges"] == "bytes"
        assert len(whole.content) == size

        part = await get_recording(service, ids["c1"], Range="bytes=100-199")
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-199/{size}"
        assert part.content == whole.content[100:200]
        tail = await get_recording(service, ids["c1"], Range="bytes=-10")
        assert tail.content == whole.content[-10:]
        assert (await get_recording(service, ids["c1"], Range=f"bytes={size}-")).status_code == 416

        detail = (await service.get(f"/api/calls/{ids['c1']}", "qa")).json()
        assert detail["recording_available"] is True
        missing = await get_recording(service, ids["c2"])
        assert missing.status_code == 404
        assert "c2.wav is missing" in missing.json()["detail"]
        assert (await service.get(f"/api/calls/{ids['c2']}", "qa")).json()[
            "recording_available"
        ] is False

        # agent1 talked on c1; agent2 did not: to them the call does not exist.
        assert (await get_recording(service, ids["c1"], "agent1")).status_code == 200
        assert (await get_recording(service, ids["c1"], "agent2")).status_code == 404
        anonymous = await service.client.get(f"/api/calls/{ids['c1']}/recording")
        assert anonymous.status_code == 401


async def test_a_wav_header_alone_is_not_a_recording(
    database_url: str, pbx: AmiServer, recordings: Path
) -> None:
    ids = seed(database_url, recordings)
    with wave.open(str(recordings / "c3.wav"), "wb") as audio:  # MixMonitor heard nothing
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
    assert (recordings / "c3.wav").stat().st_size == 44
    async with running_service(database_url, pbx, recordings_dir=recordings) as service:
        listed = (await service.get("/api/calls", "qa")).json()["items"]
        empty = (await service.get(f"/api/calls/{ids['c3']}", "qa")).json()
        missing = (await service.get(f"/api/calls/{ids['c2']}", "qa")).json()
        heard = (await service.get(f"/api/calls/{ids['c1']}", "qa")).json()

    # Every call names a file (the PBX's MixMonitor name); one of them holds sound.
    available = {item["call_id"]: item["recording_available"] for item in listed}
    assert available == {"c1": True, "c2": False, "c3": False, "c4": False, "c5": False}
    assert (empty["recording_available"], empty["recording_empty"]) == (False, True)
    assert (missing["recording_available"], missing["recording_empty"]) == (False, False)
    assert (heard["recording_available"], heard["recording_empty"]) == (True, False)


async def test_a_recording_name_cannot_reach_outside_the_recordings_folder(
    database_url: str, pbx: AmiServer, recordings: Path, tmp_path: Path
) -> None:
    ids = seed(database_url, recordings)
    (tmp_path / "secret.wav").write_bytes(b"RIFF not yours")
    database = Database(database_url)
    with database.session() as db:
        row = db.get(CallRow, ids["c2"])
        assert row is not None
        row.recording = "../secret.wav"
        db.add(row)
        db.commit()
    database.dispose()
    async with running_service(database_url, pbx, recordings_dir=recordings) as service:
        reply = await get_recording(service, ids["c2"])
        assert reply.status_code == 404
        assert b"not yours" not in reply.content


LINKEDID = "1733490000.12"
ON_TWO_PBXS = {LINKEDID: "default", f"south:{LINKEDID}": "south"}  # call id: its PBX


def seed_two_pbxs(url: str) -> dict[str, int]:
    """One Linkedid on two PBXs, each call answered at a PJSIP/1001 (each PBX has its own),
    as the recorder writes them: the PBX from the call id."""
    database = Database(url)
    ids: dict[str, int] = {}
    with database.session() as db:
        for hours, (call_id, pbx_name) in enumerate(ON_TWO_PBXS.items(), start=1):
            started = T0 + hours * 3600
            row = CallRow(
                call_id=call_id, pbx=pbx_name, status="ended", direction="inbound",
                customer="+861", agent="PJSIP/1001", started_at=started,
                answered_at=started + 5, ended_at=started + 65, talk_seconds=60.0,
                outcome="completed", ended_by="customer", updated_at=started,
            )
            db.add(row)
            db.flush()
            assert row.id is not None
            ids[call_id] = row.id
            db.add(CallParty(call_pk=row.id, endpoint="PJSIP/1001", connected=True))
        db.commit()
    database.dispose()
    return ids


def move_agent(url: str, username: str, pbx_name: str) -> None:
    """The agent's phone is now on another PBX (an admin's change in users.pbx)."""
    database = Database(url)
    with database.session() as db:
        user = db.exec(select(User).where(User.username == username)).one()
        user.pbx = pbx_name
        db.add(user)
        db.commit()
    database.dispose()


async def test_one_linkedid_on_two_pbxs_is_listed_filtered_and_exported_by_pbx(
    database_url: str, pbx: AmiServer
) -> None:
    ids = seed_two_pbxs(database_url)
    async with running_service(database_url, pbx) as service:
        listed = await service.calls()
        assert {(c["call_id"], c["pbx"], c["linkedid"]) for c in listed} == {
            (LINKEDID, "default", LINKEDID),
            (f"south:{LINKEDID}", "south", LINKEDID),
        }
        assert await found(service, pbx="south") == [f"south:{LINKEDID}"]
        assert await found(service, pbx="default") == [LINKEDID]
        assert await found(service, pbx="north") == []  # a PBX with no calls: none, no error
        detail = (await service.get(f"/api/calls/{ids[f'south:{LINKEDID}']}", "qa")).json()
        assert (detail["pbx"], detail["linkedid"]) == ("south", LINKEDID)

        reply = await service.get("/api/calls.csv", "qa", order="asc")
        text = reply.content.decode("utf-8-sig")
        header = text.splitlines()[0].split(",")
        assert header[header.index("call_id"):][:3] == ["call_id", "pbx", "linkedid"]
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [(r["call_id"], r["pbx"], r["linkedid"]) for r in rows] == [
            (LINKEDID, "default", LINKEDID),
            (f"south:{LINKEDID}", "south", LINKEDID),
        ]
        south_only = await service.get("/api/calls.csv", "qa", pbx="south")
        assert [r["call_id"] for r in csv.DictReader(
            io.StringIO(south_only.content.decode("utf-8-sig"))
        )] == [f"south:{LINKEDID}"]


async def test_a_pbx_filter_that_is_no_pbx_name_is_refused_saying_why(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(database_url, pbx) as service:
        for malformed in ("south:1", "two words", "-south", "x" * 21, ""):
            for path in ("/api/calls", "/api/calls.csv"):
                reply = await service.get(path, "qa", pbx=malformed)
                assert reply.status_code == 422, (malformed, path, reply.text)
                assert "pbx is not a PBX name" in reply.json()["detail"]


async def test_an_agent_sees_its_endpoints_calls_on_its_own_pbx_only(
    database_url: str, pbx: AmiServer
) -> None:
    ids = seed_two_pbxs(database_url)
    south, default = ids[f"south:{LINKEDID}"], ids[LINKEDID]
    async with running_service(database_url, pbx) as service:
        # agent1's phone is PJSIP/1001 on the default PBX: the south PJSIP/1001 is not theirs.
        assert [c["call_id"] for c in await service.calls("agent1")] == [LINKEDID]
        assert (await service.get(f"/api/calls/{south}", "agent1")).status_code == 404

        move_agent(database_url, "agent1", "south")
        assert [c["call_id"] for c in await service.calls("agent1")] == [f"south:{LINKEDID}"]
        assert (await service.get(f"/api/calls/{south}", "agent1")).status_code == 200
        assert (await service.get(f"/api/calls/{default}", "agent1")).status_code == 404
        assert len(await service.calls("qa")) == 2  # QA sees every PBX's calls
