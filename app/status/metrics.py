"""Prometheus metrics, read from the services' own state when scraped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from app.callbacks.desk import DeskState
from app.console.pops import LATENCY_BUCKETS, PopLedger
from app.live.no_pbx import pbx_configured
from app.live.relay import RelayState
from app.status.view import ServiceView


class ServiceCollector(Collector):
    def __init__(self, services: ServiceView) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        services = self._services
        link = services.link.snapshot() if pbx_configured(services.link) else None
        up = GaugeMetricFamily("callassist_ami_link_up", "1 when the AMI link is logged in")
        up.add_metric([], 1.0 if link and link.status == "connected" else 0.0)
        yield up
        received = CounterMetricFamily("callassist_ami_messages", "AMI messages received")
        received.add_metric([], link.messages_received if link else 0)
        yield received
        malformed = CounterMetricFamily("callassist_ami_malformed_frames", "AMI frames skipped")
        malformed.add_metric([], link.malformed_skipped if link else 0)
        yield malformed
        calls = CounterMetricFamily("callassist_calls", "finished calls", labels=["outcome"])
        for outcome, count in sorted(services.pipeline.outcomes.items()):
            calls.add_metric([outcome], count)
        yield calls
        yield from _pops(services.pipeline.pops)
        check = GaugeMetricFamily(
            "callassist_pbx_check_ok", "1 when the PBX provides what the service relies on"
        )
        check.add_metric([], 1.0 if services.pbx_check.result.ok else 0.0)
        yield check
        clients = GaugeMetricFamily("callassist_websocket_clients", "connected WebSocket clients")
        clients.add_metric([], services.hub.clients)
        yield clients
        backlog = GaugeMetricFamily("callassist_record_backlog", "call updates not yet stored")
        backlog.add_metric([], services.writer.backlog)
        yield backlog
        yield from _callbacks(services.callbacks.state)
        active = GaugeMetricFamily(
            "callassist_incidents_active", "open or acknowledged incidents", labels=["level"]
        )
        for level, count in sorted(services.incidents.active_by_level.items()):
            active.add_metric([level], count)
        yield active
        owner = services.ownership.state
        owns = GaugeMetricFamily(
            "callassist_pbx_owner", "1 while this instance owns the PBX", labels=["pbx"]
        )
        owns.add_metric([owner.pbx], 1.0 if owner.owner else 0.0)
        yield owns
        yield from _relay(services.relay.state)


def _relay(state: RelayState) -> Iterator[Metric]:
    """Only with Redis configured: one instance alone has nothing to relay."""
    if not state.configured:
        return
    up = GaugeMetricFamily("callassist_redis_connected", "1 while the relay reaches Redis")
    up.add_metric([], 1.0 if state.connected else 0.0)
    yield up
    for name, help_text, value in (
        (
            "callassist_relay_published",
            "live messages sent to the other instances",
            state.published,
        ),
        ("callassist_relay_received", "live messages from the other instances", state.received),
        ("callassist_relay_dropped", "live messages not sent: Redis down", state.dropped),
    ):
        counter = CounterMetricFamily(name, help_text)
        counter.add_metric([], value)
        yield counter


def _pops(pops: PopLedger) -> Iterator[Metric]:
    for name, help_text, value in (
        (
            "callassist_pops_delivered",
            "screen pops acknowledged by the agent's console",
            pops.delivered,
        ),
        ("callassist_pops_missed", "calls whose pop never reached an agent's console", pops.missed),
        (
            "callassist_pops_resent",
            "screen pops sent again for want of an acknowledgement",
            pops.resent,
        ),
    ):
        counter = CounterMetricFamily(name, help_text)
        counter.add_metric([], value)
        yield counter
    latency = HistogramMetricFamily(
        "callassist_pop_latency_seconds",
        "from the AMI frame reaching callassist to the console acknowledging the pop",
    )
    counts = zip(LATENCY_BUCKETS, pops.latency.counts, strict=True)
    buckets = [(str(bound), count) for bound, count in counts]
    latency.add_metric([], [*buckets, ("+Inf", pops.latency.total)], pops.latency.sum)
    yield latency


def _callbacks(state: DeskState) -> Iterator[Metric]:
    sent = CounterMetricFamily("callassist_callback_originates", "Originates sent for callbacks")
    sent.add_metric([], state.originates_sent)
    yield sent
    attempts = CounterMetricFamily(
        "callassist_callback_attempts", "callback attempts ended, by result", labels=["result"]
    )
    for result, count in sorted(state.results.items()):
        attempts.add_metric([result], count)
    yield attempts


def render(services: ServiceView) -> bytes:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ServiceCollector(services))
    return generate_latest(registry)
