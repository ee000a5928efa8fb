"""The PBX check through the real service: after each login the service asks the simulator
(over TCP) what its AMI user may send and what its dialplan holds, and /api/status says
what is missing before a dropped call finds out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from telephony.simulator.server import AmiServer
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio


async def pbx_status(service: Service) -> dict[str, Any]:
    reply = await service.get("/api/status", "it")
    reply.raise_for_status()
    status: dict[str, Any] = reply.json()["pbx"]
    return status


async def checked(
    service: Service,
    ready: Callable[[dict[str, Any]], bool] = lambda pbx: pbx["checked_at"] is not None,
    limit: float = 10.0,
) -> dict[str, Any]:
    """/api/status's "pbx" once ``ready`` holds (the check runs just after login)."""
    deadline = time.monotonic() + limit
    while True:
        status = await pbx_status(service)
        if ready(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"the PBX check never got there: {status}")
        await asyncio.sleep(0.05)


async def test_a_pbx_with_everything_passes_the_check(database_url: str, pbx: AmiServer) -> None:
    async with running_service(database_url, pbx) as service:
        status = await checked(service)
        metrics = await service.client.get("/metrics")

    assert status["ok"] is True
    assert status["problems"] == []
    assert 'callassist_pbx_check_ok{pbx="default"} 1.0' in metrics.text


def shipped_write_classes() -> set[str]:
    """The `write =` classes of the AMI user the shipped manager.conf defines."""
    text = (Path(__file__).parents[2] / "telephony/asterisk/manager.conf").read_text()
    section = text.split("\n[callassist]\n", 1)[1].split("\n[", 1)[0]
    lines = [line.partition(";")[0] for line in section.splitlines()]
    pairs = (line.partition("=") for line in lines)
    (write,) = [value for key, _, value in pairs if key.strip() == "write"]
    return {name.strip() for name in write.split(",")}


async def test_the_shipped_ami_user_passes_the_check(database_url: str, pbx: AmiServer) -> None:
    """Exactly the classes manager.conf gives callassist (no `system`): the check passes, the
    link installs no Filter, and the lines are read from DeviceStateList."""
    pbx.write_classes = shipped_write_classes()
    assert pbx.write_classes == {"originate", "reporting"}
    pbx.contacts.register("PJSIP/1001", now=time.time())
    async with running_service(database_url, pbx) as service:
        status = await checked(service)
        await pbx.wait_for_action("DeviceStateList")

    assert status["ok"] is True, status["problems"]
    sent = {a["Action"] for a in pbx.actions}
    assert "Filter" not in sent
    assert not sent & {"PJSIPShowContacts", "PJSIPShowEndpoints", "PJSIPShowEndpoint"}


async def test_an_ami_user_without_originate_is_reported_on_the_status(
    database_url: str, pbx: AmiServer
) -> None:
    pbx.write_classes = {"reporting"}  # manager.conf's write without originate
    async with running_service(database_url, pbx) as service:
        status = await checked(service)

    assert status["ok"] is False
    assert status["problems"] == [
        "the AMI user may not send Originate: add `originate` to its write classes in "
        "manager.conf; callbacks cannot be dialled"
    ]


async def test_a_dialplan_without_the_callback_context_is_reported(
    database_url: str, pbx: AmiServer
) -> None:
    del pbx.dialplan["callassist-callback"]
    async with running_service(database_url, pbx) as service:
        status = await checked(service)

    assert status["ok"] is False
    assert status["problems"] == [
        "the dialplan has no context callassist-callback (CALLASSIST_CALLBACK_CONTEXT): "
        "callbacks would fail; add it (see telephony/asterisk/extensions.conf)"
    ]


async def test_the_probe_extension_is_looked_for_when_a_probe_is_configured(
    database_url: str, pbx: AmiServer
) -> None:
    async with running_service(
        database_url, pbx, probe_server="127.0.0.1", probe_extension="*99"
    ) as service:
        status = await checked(service)

    assert status["problems"] == [
        "the dialplan has no extension *99 (CALLASSIST_PROBE_EXTENSION): the line check would "
        "fail; add it to the probe's context (see telephony/asterisk/pjsip_probe.conf)"
    ]


async def test_the_check_runs_again_after_a_reconnect(database_url: str, pbx: AmiServer) -> None:
    callback_context = pbx.dialplan.pop("callassist-callback")
    async with running_service(database_url, pbx) as service:
        before = await checked(service)
        pbx.dialplan["callassist-callback"] = callback_context  # the engineer fixed it
        await pbx.drop_sessions()
        after = await checked(service, lambda pbx: pbx["checked_at"] != before["checked_at"])

    assert before["ok"] is False
    assert "callassist-callback" in before["problems"][0]
    assert pbx.logins >= 2
    assert after == {"checked_at": after["checked_at"], "ok": True, "problems": []}
