"""Prometheus metrics, read from the services' own state when scraped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.wiring import Services


class ServiceCollector(Collector):
    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        services = self._services
        link = services.link.snapshot() if services.link else None
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
        outcomes = services.pipeline.outcomes if services.pipeline else {}
        for outcome, count in sorted(outcomes.items()):
            calls.add_metric([outcome], count)
        yield calls
        clients = GaugeMetricFamily("callassist_websocket_clients", "connected WebSocket clients")
        clients.add_metric([], services.hub.clients)
        yield clients
        backlog = GaugeMetricFamily("callassist_record_backlog", "call updates not yet stored")
        backlog.add_metric([], services.writer.backlog)
        yield backlog


def render(services: Services) -> bytes:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ServiceCollector(services))
    return generate_latest(registry)
