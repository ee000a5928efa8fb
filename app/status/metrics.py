"""Prometheus metrics, read from the services' own state when scraped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
from app.status.view import PbxView, ServiceView


class ServiceCollector(Collector):
    def __init__(self, services: ServiceView) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        """Each PBX's metrics carry its name (label ``pbx``); the rest are the instance's."""
        services = self._services
        yield from _per_pbx(services.pbxes)
        clients = GaugeMetricFamily("callassist_websocket_clients", "connected WebSocket clients")
        clients.add_metric([], services.hub.clients)
        yield clients
        yield from _relay(services.relay.state)


def _per_pbx(pbxes: Sequence[PbxView]) -> Iterator[Metric]:
    families = _PbxFamilies()
    for side in pbxes:
        families.add(side)
    yield from families.all()


class _PbxFamilies:
    """Every PBX-side family, one sample per PBX (and per outcome, result, level)."""

    def __init__(self) -> None:
        pbx = ["pbx"]
        self.up = GaugeMetricFamily(
            "callassist_ami_link_up", "1 when the AMI link is logged in", labels=pbx
        )
        self.received = CounterMetricFamily(
            "callassist_ami_messages", "AMI messages received", labels=pbx
        )
        self.malformed = CounterMetricFamily(
            "callassist_ami_malformed_frames", "AMI frames skipped", labels=pbx
        )
        self.calls = CounterMetricFamily(
            "callassist_calls", "finished calls", labels=["pbx", "outcome"]
        )
        self.check = GaugeMetricFamily(
            "callassist_pbx_check_ok",
            "1 when the PBX provides what the service relies on",
            labels=pbx,
        )
        self.backlog = GaugeMetricFamily(
            "callassist_record_backlog", "call updates not yet stored", labels=pbx
        )
        self.active = GaugeMetricFamily(
            "callassist_incidents_active", "open or acknowledged incidents", labels=["pbx", "level"]
        )
        self.owns = GaugeMetricFamily(
            "callassist_pbx_owner", "1 while this instance owns the PBX", labels=pbx
        )
        self.pops = _PopFamilies()
        self.callbacks = _CallbackFamilies()

    def add(self, side: PbxView) -> None:
        name, term = side.name, side.term
        link = term.link.snapshot() if pbx_configured(term.link) else None
        self.up.add_metric([name], 1.0 if link and link.status == "connected" else 0.0)
        self.received.add_metric([name], link.messages_received if link else 0)
        self.malformed.add_metric([name], link.malformed_skipped if link else 0)
        for outcome, count in sorted(term.pipeline.outcomes.items()):
            self.calls.add_metric([name, outcome], count)
        self.check.add_metric([name], 1.0 if term.pbx_check.result.ok else 0.0)
        self.backlog.add_metric([name], term.writer.backlog)
        for level, count in sorted(term.incidents.active_by_level.items()):
            self.active.add_metric([name, level], count)
        self.owns.add_metric([name], 1.0 if side.ownership.state.owner else 0.0)
        self.pops.add(name, term.pipeline.pops)
        self.callbacks.add(name, term.callbacks.state)

    def all(self) -> Iterator[Metric]:
        yield from (self.up, self.received, self.malformed, self.calls)
        yield from self.pops.all()
        yield from (self.check, self.backlog)
        yield from self.callbacks.all()
        yield from (self.active, self.owns)


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


class _PopFamilies:
    def __init__(self) -> None:
        self.counters = [
            CounterMetricFamily(name, help_text, labels=["pbx"])
            for name, help_text in (
                ("callassist_pops_delivered", "screen pops acknowledged by the agent's console"),
                ("callassist_pops_missed", "calls whose pop never reached an agent's console"),
                ("callassist_pops_resent", "screen pops sent again for want of an acknowledgement"),
            )
        ]
        self.latency = HistogramMetricFamily(
            "callassist_pop_latency_seconds",
            "from the AMI frame reaching callassist to the console acknowledging the pop",
            labels=["pbx"],
        )

    def add(self, pbx: str, pops: PopLedger) -> None:
        values = (pops.delivered, pops.missed, pops.resent)
        for counter, value in zip(self.counters, values, strict=True):
            counter.add_metric([pbx], value)
        counts = zip(LATENCY_BUCKETS, pops.latency.counts, strict=True)
        buckets = [(str(bound), count) for bound, count in counts]
        self.latency.add_metric(
            [pbx], [*buckets, ("+Inf", pops.latency.total)], pops.latency.sum
        )

    def all(self) -> Iterator[Metric]:
        yield from self.counters
        yield self.latency


class _CallbackFamilies:
    def __init__(self) -> None:
        self.sent = CounterMetricFamily(
            "callassist_callback_originates", "Originates sent for callbacks", labels=["pbx"]
        )
        self.attempts = CounterMetricFamily(
            "callassist_callback_attempts",
            "callback attempts ended, by result",
            labels=["pbx", "result"],
        )

    def add(self, pbx: str, state: DeskState) -> None:
        self.sent.add_metric([pbx], state.originates_sent)
        for result, count in sorted(state.results.items()):
            self.attempts.add_metric([pbx, result], count)

    def all(self) -> Iterator[Metric]:
        yield from (self.sent, self.attempts)


def render(services: ServiceView) -> bytes:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ServiceCollector(services))
    return generate_latest(registry)
