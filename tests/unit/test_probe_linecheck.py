"""The scheduled line check: probe settings, and which probe results reach the incidents desk
as line-fault signals. The probe itself is a fake here (tests/integration/test_probe.py runs
the real one against sipp)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from app.lines.linecheck import LineCheck, ProbeSettingsError, SignalDesk, probe_config
from app.settings import Settings
from telephony.lines.watch import FaultSignal
from telephony.probe import ProbeConfig, ProbeResult

ANSWERED = ProbeResult(True, True, 0.01, 0.2, "answered")
BUSY = ProbeResult(False, True, 0.01, None, "busy", "486 Busy Here")
REFUSED = ProbeResult(False, False, None, None, "registration failed: 403", "403 Forbidden")


def settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "probe_server": "pbx.example:5062",
        "probe_password": SecretStr("probe-secret"),
    }
    return Settings(**(base | values))  # type: ignore[arg-type]


def test_probe_config_takes_host_port_and_the_account_from_settings() -> None:
    config = probe_config(settings(probe_extension="*78", probe_timeout_seconds=4))

    assert (config.server, config.port) == ("pbx.example", 5062)
    assert (config.username, config.password) == ("callassist-probe", "probe-secret")
    assert config.extension == "*78"
    assert config.timeout == 4
    assert (config.local_ip, config.local_port) == ("127.0.0.1", 5070)


def test_the_sip_port_defaults_to_5060() -> None:
    assert probe_config(settings(probe_server="10.0.0.5")).port == 5060


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"probe_server": None}, "CALLASSIST_PROBE_SERVER"),
        ({"probe_server": "pbx:sip"}, "CALLASSIST_PROBE_SERVER"),
        ({"probe_server": "pbx:70000"}, "CALLASSIST_PROBE_SERVER"),
        ({"probe_server": "[::1]:5060"}, "CALLASSIST_PROBE_SERVER"),
        ({"probe_password": None}, "CALLASSIST_PROBE_PASSWORD"),
        ({"probe_extension": " "}, "CALLASSIST_PROBE_EXTENSION"),
    ],
)
def test_unusable_probe_settings_name_the_variable(
    values: dict[str, object], variable: str
) -> None:
    with pytest.raises(ProbeSettingsError, match=variable) as refused:
        probe_config(settings(**values))
    assert "probe-secret" not in str(refused.value)


def test_no_schedule_without_a_server_or_an_interval() -> None:
    assert LineCheck.from_settings(settings(probe_interval_minutes=0), lambda: None) is None
    assert LineCheck.from_settings(settings(probe_server=None), lambda: None) is None
    assert LineCheck.from_settings(settings(probe_password=None), lambda: None) is None
    check = LineCheck.from_settings(settings(probe_interval_minutes=5), lambda: None)
    assert check is not None and check.every_seconds == 300


class Desk:
    """The incidents desk's one method the line check uses."""

    def __init__(self) -> None:
        self.signals: list[tuple[FaultSignal, float]] = []

    def signal(self, signal: FaultSignal, received: float) -> None:
        self.signals.append((signal, received))


def line_check(results: list[ProbeResult], desk: SignalDesk) -> LineCheck:
    queue: Iterator[ProbeResult] = iter(results)
    times = iter(range(1000, 2000, 60))

    async def fake_probe(config: ProbeConfig) -> ProbeResult:
        return next(queue)

    config = ProbeConfig("pbx", "callassist-probe", "secret", "*77")
    return LineCheck(
        config,
        60,
        desk,
        fake_probe,
        clock=lambda: float(next(times)),  # type: ignore[arg-type,return-value]
    )


def run_checks(check: LineCheck, count: int) -> None:
    async def go() -> None:
        for _ in range(count):
            await check.check()

    asyncio.run(go())


def test_each_failed_probe_signals_probe_failed_and_the_next_success_recovered() -> None:
    desk = Desk()
    check = line_check([ANSWERED, BUSY, REFUSED, ANSWERED, ANSWERED], desk)

    run_checks(check, 5)

    assert [(s.fault, s.location, s.at, s.detail, r) for s, r in desk.signals] == [
        ("probe_failed", "probe:*77", 1060.0, "busy", 1060.0),
        ("probe_failed", "probe:*77", 1120.0, "registration failed: 403", 1120.0),
        ("recovered", "probe:*77", 1180.0, "answered", 1180.0),
    ]
    assert check.last == ANSWERED and not check.failing


def test_an_async_desk_is_awaited() -> None:
    received: list[FaultSignal] = []

    class AsyncDesk:
        async def signal(self, signal: FaultSignal, received_at: float) -> None:
            await asyncio.sleep(0)
            received.append(signal)

    check = line_check([BUSY], AsyncDesk())

    run_checks(check, 1)

    assert [s.fault for s in received] == ["probe_failed"]
