"""The line check: the probe (telephony/probe.py) from settings, on a schedule, with its
failures handed to the incidents desk as line-fault signals.

A failed probe is a ``probe_failed`` signal at ``probe:<extension>`` every time it fails
(the desk joins repeats to the open incident, and they show the fault persists); the first
success after a failure is a ``recovered`` signal for the same location.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TextIO

from app.settings import Settings
from telephony.lines.watch import RECOVERED, FaultSignal
from telephony.probe import ProbeConfig, ProbeResult, probe

log = logging.getLogger("callassist.linecheck")

PROBE_FAILED = "probe_failed"

Probe = Callable[[ProbeConfig], Awaitable[ProbeResult]]


class SignalDesk(Protocol):
    """The incidents desk as the line check sees it (app.incidents.desk.IncidentDesk)."""

    def signal(self, signal: FaultSignal, received: float) -> object: ...



class ProbeSettingsError(ValueError):
    """The probe settings cannot make a probe; the message names the variable."""


def probe_config(settings: Settings) -> ProbeConfig:
    if not settings.probe_server:
        raise ProbeSettingsError(
            "CALLASSIST_PROBE_SERVER is not set (host[:port] of the PBX's SIP UDP listener)"
        )
    host, port = _host_port(settings.probe_server)
    if settings.probe_password is None or not settings.probe_password.get_secret_value():
        raise ProbeSettingsError(
            "CALLASSIST_PROBE_PASSWORD is not set (the probe account's SIP password)"
        )
    if not settings.probe_username.strip():
        raise ProbeSettingsError("CALLASSIST_PROBE_USERNAME is empty")
    if not settings.probe_extension.strip():
        raise ProbeSettingsError("CALLASSIST_PROBE_EXTENSION is empty")
    return ProbeConfig(
        host,
        settings.probe_username.strip(),
        settings.probe_password.get_secret_value(),
        settings.probe_extension.strip(),
        port=port,
        local_ip=settings.probe_local_ip,
        local_port=settings.probe_local_port,
        timeout=settings.probe_timeout_seconds,
    )


def _host_port(server: str) -> tuple[str, int]:
    host, colon, port = server.strip().rpartition(":")
    if not colon:
        host, port = port, "5060"
    if not host or "[" in host or ":" in host:
        raise ProbeSettingsError(
            f"CALLASSIST_PROBE_SERVER: {server!r} is not host[:port] (IPv4 or a name; the"
            " probe's SIP library has no IPv6)"
        )
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ProbeSettingsError(f"CALLASSIST_PROBE_SERVER: {port!r} is not a port number")
    return host, int(port)


class LineCheck:
    """Runs the probe every ``every_seconds`` and reports to the incidents desk."""

    def __init__(
        self,
        config: ProbeConfig,
        every_seconds: float,
        desk: SignalDesk,
        run_probe: Probe = probe,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.every_seconds = every_seconds
        self.location = f"probe:{config.extension}"
        self.last: ProbeResult | None = None
        self.failing = False
        self._desk = desk
        self._probe = run_probe
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, desk: SignalDesk) -> LineCheck | None:
        """The scheduled check, or None when the settings do not ask for one (or cannot)."""
        if not settings.probe_server or settings.probe_interval_minutes <= 0:
            return None
        try:
            config = probe_config(settings)
        except ProbeSettingsError as error:
            log.error("line check not scheduled: %s", error)
            return None
        return cls(config, settings.probe_interval_minutes * 60, desk)

    async def run(self) -> None:
        """The schedule: a check at start, then one every interval; never raises."""
        while True:
            await self.check()
            await asyncio.sleep(self.every_seconds)

    async def check(self) -> ProbeResult:
        try:
            result = await self._probe(self.config)
        except Exception as error:  # the probe never raises; if it does, that is a failure
            log.exception("line probe raised")
            result = ProbeResult(False, False, None, None, f"error: {error}")
        at = self._clock()
        self.last = result
        _log(result, self.location)
        signal = self.judge(result, at)
        if signal is not None:
            await self._report(signal, at)
        return result

    def judge(self, result: ProbeResult, at: float) -> FaultSignal | None:
        """Every failure is a signal; a success only when it ends a failure."""
        if not result.ok:
            self.failing = True
            return FaultSignal(PROBE_FAILED, self.location, at, result.result)
        if self.failing:
            self.failing = False
            return FaultSignal(RECOVERED, self.location, at, result.result)
        return None

    async def _report(self, signal: FaultSignal, received: float) -> None:
        try:
            outcome = self._desk.signal(signal, received)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception("incidents desk refused %s at %s", signal.fault, signal.location)


def _log(result: ProbeResult, location: str) -> None:
    if result.ok:
        log.info(
            "line check %s: answered (registration %.3f s, call set-up %.3f s)",
            location,
            result.registration_seconds or 0.0,
            result.call_setup_seconds or 0.0,
        )
    else:
        log.warning("line check %s failed: %s (%s)", location, result.result, result.detail)


def check_now(config: ProbeConfig) -> ProbeResult:
    """One probe, for the command line."""
    return asyncio.run(probe(config))


def print_result(config: ProbeConfig, result: ProbeResult, out: TextIO, as_json: bool) -> None:
    if as_json:
        where = {
            "server": f"{config.server}:{config.port}",
            "username": config.username,
            "extension": config.extension,
        }
        out.write(json.dumps(where | result.contract()) + "\n")
        return
    out.write(
        f"line check: {config.username} at {config.server}:{config.port},"
        f" calling {config.extension}\n"
    )
    registration = _seconds(result.registration_seconds, "failed")
    setup = _seconds(result.call_setup_seconds, "failed" if result.registered else "-")
    out.write(f"registration:  {registration}\n")
    out.write(f"call set-up:   {setup}\n")
    out.write(f"result:        {result.result}\n")
    if result.detail:
        out.write(f"detail:        {result.detail}\n")


def _seconds(value: float | None, otherwise: str) -> str:
    return otherwise if value is None else f"{value:.3f} s"
