"""What an operator's Prometheus scrapes from /metrics (no login), after real traffic: the AMI
stream, calls by outcome, callbacks by result, open incidents by level, the consoles
connected and how fast pops reach them."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic
from tests.service.harness import Service, running_service

pytestmark = pytest.mark.asyncio


async def scrape(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = await service.client.get("/metrics")
    assert reply.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


async def until_sample(service: Service, name: str, labels: dict[str, Any], value: float) -> None:
    key = (name, tuple(sorted(labels.items())))
    for _ in range(200):
        if (await scrape(service)).get(key) == value:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"{name}{labels} never reached {value}: {(await scrape(service)).get(key)}"
    )


async def test_the_metrics_an_operator_scrapes_follow_the_traffic(
    database_url: str, pbx: AmiServer
) -> None:
    traffic = Traffic(
        pbx, agents=("PJSIP/1001",), rng=random.Random(3), calls_per_minute=0, speed=4.0
    )
    pbx.on_originate = traffic.answer_originate
    try:
        async with running_service(database_url, pbx) as service:
            await pbx.wait_logged_in()
            async with service.websocket("supervisor") as supervisor:
                await supervisor.next("snapshot")
                await traffic.place("dropped_network_cause", agents=["PJSIP/1001"])
                dropped = {"pbx": "default", "outcome": "dropped"}
                await until_sample(service, "callassist_calls_total", dropped, 1.0)
                reached = {"pbx": "default", "result": "reached"}
                await until_sample(service, "callassist_callback_attempts_total", reached, 1.0)
                await pbx.set_contact("PJSIP/2001", "Unreachable")  # the trunk goes down
                level_i = {"pbx": "default", "level": "I"}
                await until_sample(service, "callassist_incidents_active", level_i, 1.0)
                samples = await scrape(service)
                assert samples[("callassist_websocket_clients", ())] == 1.0
            pbx = (("pbx", "default"),)
            assert samples[("callassist_ami_messages_total", pbx)] > 50
            assert samples[("callassist_ami_malformed_frames_total", pbx)] == 0.0
            assert samples[("callassist_ami_link_up", pbx)] == 1.0
            assert ("callassist_pop_latency_seconds_count", pbx) in samples
    finally:
        await traffic.close()
