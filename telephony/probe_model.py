"""What a line probe is asked to do (ProbeConfig) and what it reports (ProbeResult): plain
data, so the service and its tests hold them without loading the SIP library."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# The words a ProbeResult's ``result`` may hold besides "registration failed: 403",
# "call failed: 480", "no answer in 10 s" and "error: ...".
ANSWERED = "answered"
BUSY = "busy"
TIMEOUT = "timeout"

STOP_SECONDS = 2.0  # de-registration's own wait; the stop as a whole gets twice this + 1


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """Where and as whom the probe registers, and what it calls."""

    server: str  # the PBX's SIP host
    username: str
    password: str
    extension: str  # the probe extension, answered by the PBX (e.g. *77)
    port: int = 5060
    local_ip: str = "127.0.0.1"
    local_port: int = 5070
    timeout: float = 10.0  # for the registration, and again for the call set-up
    hold_seconds: float = 0.5  # how long the answered test call stays up

    @property
    def rtp_ports(self) -> tuple[int, int]:
        """The probe's RTP ports sit right beside its SIP port, not in the 10000-20000 of a
        PBX that may share the host."""
        if self.local_port + 40 <= 65535:
            return self.local_port + 2, self.local_port + 40
        return self.local_port - 40, self.local_port - 2

    @property
    def budget(self) -> float:
        """The longest a probe may take, stop included: the outer deadline."""
        # registration + call set-up + hold, then CANCEL, wake-up, stop and reaping waits
        return 2 * self.timeout + self.hold_seconds + 3 * STOP_SECONDS + 9


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    registered: bool
    registration_seconds: float | None
    call_setup_seconds: float | None
    result: str  # answered | registration failed: 403 | busy | no answer in 10 s | timeout ...
    detail: str | None = None

    def contract(self) -> dict[str, object]:
        return asdict(self)
