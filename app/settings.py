"""The service's settings: one class, read from the environment (prefix ``CALLASSIST_``)."""

from __future__ import annotations

import os
import re
import socket
from functools import cached_property
from pathlib import Path
from typing import Annotated, TypeVar, cast
from urllib.parse import unquote, urlsplit

from fastapi import Depends
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import HTTPConnection

from app.callbacks.rules import DIALLABLE_NUMBER
from app.incidents.rules import DEFAULT_LEVELS, KINDS, LEVELS
from app.pbxes.config import Pbx, parse_pbxes
from app.pbxes.ids import DEFAULT_PBX
from telephony.ami.link import LinkConfig
from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import WatchRules

# Secrets people paste from examples; refused outside the demo.
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "callassist", "test"}
MIN_SECRET_LENGTH = 32
_N = TypeVar("_N", int, float)


# A diallable-number pattern that matches any of these would let a caller into an Originate:
# commas split Variable values, parentheses write dialplan functions, the rest is no number.
HOSTILE_NUMBERS = (
    *("555,1234", "555(1)", "555;1", "555\n1", "555\r1"),
    *("555 1", "${X}", "555|1", "5@x", "5/1"),
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLASSIST_", extra="ignore")

    database_url: str = Field(default="sqlite:///callassist.db", repr=False)  # may hold a password
    ami_url: SecretStr | None = None  # ami://user:secret@host:5038
    trunks: str = ""  # PJSIP/2001,PJSIP/carrier-*
    # Several PBXs (app/pbxes/config.py): a JSON list of {"name", "ami_url", "trunks"}, in
    # place of AMI_URL and TRUNKS (which describe the one PBX named "default").
    pbxes: SecretStr | None = None
    # Live messages between instances (app/live/relay.py): redis://[:password@]host:6379/0,
    # rediss:// with TLS. None: one instance, its hub serves its own consoles.
    redis_url: SecretStr | None = None
    # Every key and channel the relay uses starts with this: several deployments (or test
    # runs) can share one Redis.
    redis_prefix: str = Field(
        default="callassist", min_length=1, max_length=60, pattern=r"^[\w.:-]+$"
    )
    scripts_dir: Path | None = None
    recordings_dir: Path = Path("/var/spool/asterisk/monitor")
    secret_key: SecretStr | None = None  # signs login tokens
    allowed_origins: str = ""  # comma-separated; empty: the service's own origin only
    token_minutes: int = Field(default=8 * 60, ge=1, le=7 * 24 * 60)  # one shift
    # Logins (app/auth/guard.py): failed logins counted in a short window per username and
    # address, per address and per username; past a limit, 429 with Retry-After until the
    # window lets the oldest failure go. At most this many password checks (Argon2, ~64 MiB
    # each) run at once; a login finding them all busy waits up to login_wait_seconds.
    login_window_seconds: float = Field(default=60.0, gt=0, le=3600)
    login_failures_per_user_address: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=30, ge=1)
    login_failures_per_user: int = Field(default=20, ge=1)
    login_concurrent_checks: int = Field(default=4, ge=1, le=256)
    login_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    # An open WebSocket re-checks its login this often, so a user disabled or logged out by
    # another process (the CLI, another instance) is cut off too; this process cuts at once.
    ws_login_check_seconds: float = Field(default=30.0, gt=0, le=3600)
    short_abandon_seconds: float = Field(default=5.0, ge=0)
    drop_cluster_size: int = Field(default=3, ge=2)
    drop_cluster_window_seconds: float = Field(default=600.0, gt=0)
    company_name: str = Field(default="Callassist Demo", min_length=1, max_length=120)
    pop_ack_seconds: float = Field(default=2.0, gt=0)  # a pop not acknowledged by then is resent
    pop_resends: int = Field(default=3, ge=0)
    frontend_dir: Path = Path(__file__).resolve().parent.parent / "frontend"
    # Call updates taken but not stored when the service stops (a database outage) are kept
    # in this file and stored at the next start. None: beside the SQLite file, else
    # callassist-<database>.unstored.jsonl in the working directory.
    journal_path: Path | None = None
    stop_store_seconds: float = Field(default=10.0, ge=0, le=600)  # to store before journalling
    demo: bool = False  # set by `callassist demo`: the built-in simulator is the PBX
    demo_calls_per_minute: float = Field(default=6.0, ge=0)  # 0: calls only when a test places them
    # How long a complaint may take to be resolved, by its severity.
    complaint_due_hours_critical: float = Field(default=4.0, gt=0)
    complaint_due_hours_high: float = Field(default=24.0, gt=0)
    complaint_due_hours_medium: float = Field(default=72.0, gt=0)
    complaint_due_hours_low: float = Field(default=168.0, gt=0)
    # QA review: the scorecard (None: the shipped app/review/scorecards/default.yaml) and the
    # adherence rules a call is checked against.
    scorecard_file: Path | None = None
    adherence_greeting_seconds: float = Field(default=15.0, ge=0)
    adherence_max_hold_seconds: float = Field(default=120.0, ge=0)
    # Callbacks (issue 6). Originates go into this dialplan context with this caller ID.
    callback_context: str = Field(default="callassist-callback", min_length=1, max_length=80)
    callback_caller_id: str = Field(default='"Callback" <2000>', min_length=1, max_length=120)
    # When each attempt is due, in seconds after the call ended: one entry per attempt.
    callback_schedule_seconds: str = "0,120,600"
    # Q.850 causes of a failed attempt that are worth another try (network and line faults,
    # busy, no answer); any other cause (21: the customer rejected the call) ends the callback.
    callback_retry_causes: str = "17,18,19,27,34,38,41,42,44,47,102,111"
    callback_jumps_queue: bool = False  # True: dial a callback while customers wait in queue
    callback_ring_seconds: float = Field(default=30.0, gt=0, le=300)  # agent's phone rings
    # What a callback may dial: the caller's number must match it in full (a regular
    # expression); anything else becomes a task for a person, never an Originate.
    callback_diallable_number: str = Field(default=DIALLABLE_NUMBER, min_length=1, max_length=200)
    # Incidents: the response level of each kind (I highest, IV lowest) and the reminder.
    incident_levels: str = ",".join(f"{kind}={level}" for kind, level in DEFAULT_LEVELS.items())
    incident_reminder_minutes: float = Field(default=15.0, gt=0)  # levels I and II
    # Poor media from RTCP reports: any one of these over its threshold.
    media_max_loss_percent: float = Field(default=5.0, ge=0, le=100)
    media_max_jitter_ms: float = Field(default=60.0, ge=0)
    media_max_rtt_ms: float = Field(default=500.0, ge=0)
    media_min_mes: float = Field(default=60.0, ge=0, le=100)
    # Another channel to offer a customer during a line fault.
    alternate_number: str = Field(default="", max_length=64)
    alternate_email: str = Field(default="", max_length=254)
    # The line probe (callassist linecheck and the scheduled check): a test account on the PBX
    # that registers and calls the probe extension. No probe_server: no probe.
    probe_server: str | None = None  # host[:port] of the PBX's SIP UDP listener
    probe_username: str = "callassist-probe"
    probe_password: SecretStr | None = None
    probe_extension: str = "*77"
    probe_local_ip: str = "127.0.0.1"  # the address the probe's SIP/RTP sockets bind
    probe_local_port: int = Field(default=5070, ge=1, le=65535)
    probe_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    probe_interval_minutes: float = Field(default=0.0, ge=0)  # 0: not scheduled
    # Several instances (issue 16): this instance's name, shown to the others as a PBX's
    # owner's. Empty: hostname-pid.
    instance_name: str = Field(default="", max_length=60, pattern=r"^[\w.:-]*$")
    # How often an instance standing by tries the lock, and an owner checks it still holds it.
    owner_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("DATABASE_URL must be sqlite:///path.db or postgresql+psycopg://...")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not url.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("REDIS_URL must be redis://[:password@]host:port/db (or rediss://)")
        return url

    @field_validator("callback_schedule_seconds")
    @classmethod
    def _schedule(cls, text: str) -> str:
        delays = _numbers(text, float)
        if not delays or any(d < 0 for d in delays) or list(delays) != sorted(delays):
            raise ValueError("a comma-separated list of seconds, ascending, e.g. 0,120,600")
        return text

    @field_validator("callback_diallable_number")
    @classmethod
    def _diallable(cls, expression: str) -> str:
        try:
            pattern = re.compile(expression)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        hostile = [text for text in HOSTILE_NUMBERS if pattern.fullmatch(text)]
        if hostile:
            raise ValueError(f"it lets through {hostile[0]!r}: digits and a leading + only")
        return expression

    @field_validator("callback_retry_causes")
    @classmethod
    def _causes(cls, text: str) -> str:
        if any(not 1 <= cause <= 127 for cause in _numbers(text, int)):
            raise ValueError("Q.850 causes are 1 to 127, e.g. 17,18,19,34,38")
        return text

    @field_validator("incident_levels")
    @classmethod
    def _levels(cls, text: str) -> str:
        for kind, level in _pairs(text):
            if kind not in KINDS:
                raise ValueError(f"{kind}: not an incident kind; the kinds: {', '.join(KINDS)}")
            if level not in LEVELS:
                raise ValueError(f"{kind}={level}: a level is one of I, II, III, IV")
        return text

    @field_validator("ami_url")
    @classmethod
    def _ami_url_parses(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            LinkConfig.from_url(url.get_secret_value())  # its errors never echo the secret
        return url

    @field_validator("pbxes")
    @classmethod
    def _pbxes_parse(cls, text: SecretStr | None) -> SecretStr | None:
        if text is not None:
            parse_pbxes(text.get_secret_value())  # its errors never echo a value
        return text

    @model_validator(mode="after")
    def _one_way_to_name_pbxes(self) -> Settings:
        if self.pbxes is not None and (self.ami_url is not None or self.trunks):
            raise ValueError(
                "CALLASSIST_PBXES names every PBX with its AMI URL and trunks: leave"
                " CALLASSIST_AMI_URL and CALLASSIST_TRUNKS unset"
            )
        return self

    @field_validator("secret_key")
    @classmethod
    def _real_secret(cls, key: SecretStr | None) -> SecretStr | None:
        if key is None:
            return key
        text = key.get_secret_value()
        if text.lower() in _PLACEHOLDER_SECRETS or len(text) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"must be a random string of at least {MIN_SECRET_LENGTH} characters, e.g. from"
                " python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return key

    def check_can_serve(self) -> None:
        """What attaching to a real PBX needs beyond the defaults; the demo needs neither."""
        if self.demo:
            return
        if self.secret_key is None:
            raise ValueError("CALLASSIST_SECRET_KEY is required: it signs login tokens")
        if self.ami_url is None and self.pbxes is None:
            raise ValueError(
                "CALLASSIST_AMI_URL is required: ami://user:secret@pbx-host:5038 (or"
                " CALLASSIST_PBXES for several PBXs)"
            )

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @cached_property
    def pbx_list(self) -> tuple[Pbx, ...]:
        """The PBXs, in the order named: CALLASSIST_PBXES's, else the one of AMI_URL and
        TRUNKS (not configured without AMI_URL: the service runs with no live calls)."""
        if self.pbxes is not None:
            return parse_pbxes(self.pbxes.get_secret_value())
        return (Pbx(DEFAULT_PBX, self.ami_url, self.trunks),)

    @property
    def pbx_names(self) -> list[str]:
        return [pbx.name for pbx in self.pbx_list]

    def pbx_named(self, name: str) -> Pbx | None:
        """The configured PBX of that name; None for one the settings do not name."""
        return next((pbx for pbx in self.pbx_list if pbx.name == name), None)

    def recordings_dir_of(self, pbx: str) -> Path:
        """Where a PBX's recordings are: its own folder if CALLASSIST_PBXES names one (each
        Asterisk writes its own disk), else CALLASSIST_RECORDINGS_DIR."""
        named = self.pbx_named(pbx)
        return (named.recordings_dir if named else None) or self.recordings_dir

    def trunk_plan_of(self, pbx: Pbx) -> TrunkPlan:
        """A PBX's trunks; the line probe's account counts as one on every PBX."""
        probe = self.probe_endpoint
        return TrunkPlan.parse(pbx.trunks, probes=[probe] if probe else [])

    @property
    def trunk_plan(self) -> TrunkPlan:
        """The first PBX's trunks (the demo's, and the one PBX's of AMI_URL)."""
        return self.trunk_plan_of(self.pbx_list[0])

    @property
    def probe_endpoint(self) -> str | None:
        """The probe account's endpoint on the PBX: its username, as pjsip_probe.conf finds
        it (identify_by=username). Known even with no probe scheduled: `callassist
        linecheck` may run from anywhere."""
        username = self.probe_username.strip()
        return f"PJSIP/{username}" if username else None

    @property
    def watch_rules(self) -> WatchRules:
        return WatchRules(
            self.drop_cluster_size,
            self.drop_cluster_window_seconds,
            max_loss_percent=self.media_max_loss_percent,
            max_jitter_ms=self.media_max_jitter_ms,
            max_rtt_ms=self.media_max_rtt_ms,
            min_mes=self.media_min_mes,
        )

    @property
    def complaint_due_hours(self) -> dict[str, float]:
        """Hours to resolve a complaint, by severity."""
        return {
            "critical": self.complaint_due_hours_critical,
            "high": self.complaint_due_hours_high,
            "medium": self.complaint_due_hours_medium,
            "low": self.complaint_due_hours_low,
        }

    @property
    def callback_schedule(self) -> tuple[float, ...]:
        """Seconds after the call ended at which each attempt is due."""
        return _numbers(self.callback_schedule_seconds, float)

    @property
    def callback_retry_cause_set(self) -> frozenset[int]:
        return frozenset(_numbers(self.callback_retry_causes, int))

    @property
    def incident_level_rules(self) -> dict[str, str]:
        """Incident kind -> response level."""
        return dict(_pairs(self.incident_levels))

    def journal_file_of(self, pbx: str) -> Path:
        """Where a PBX's call updates not stored at a stop wait for the next start: the
        default PBX's in ``journal_file``, another's beside it with the PBX's name."""
        path = self.journal_file
        if pbx == DEFAULT_PBX:
            return path
        return path.with_name(f"{path.name.removesuffix('.unstored.jsonl')}.{pbx}.unstored.jsonl")

    @property
    def journal_file(self) -> Path:
        """Where call updates not stored at a stop wait for the next start."""
        if self.journal_path is not None:
            return self.journal_path
        url = urlsplit(self.database_url)
        if url.scheme == "sqlite":
            database = unquote(url.path.removeprefix("/"))  # sqlite:///rel.db, sqlite:////abs.db
            if database and database != ":memory:":
                return Path(database + ".unstored.jsonl")
            return Path("callassist.unstored.jsonl")
        name = unquote(url.path.strip("/")) or "postgres"
        return Path(f"callassist-{name}.unstored.jsonl")

    @property
    def instance(self) -> str:
        """This instance's name: the setting, else hostname-pid (unique on a machine)."""
        return self.instance_name or f"{socket.gethostname()}-{os.getpid()}"[:60]



def _numbers(text: str, kind: type[_N]) -> tuple[_N, ...]:
    """``"0, 120,600"`` -> (0.0, 120.0, 600.0); a bad item raises ValueError naming it."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        return tuple(kind(item) for item in items)
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of numbers") from None


def _pairs(text: str) -> list[tuple[str, str]]:
    """``"trunk_down=I, drop_cluster=II"`` -> [("trunk_down", "I"), ...]."""
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"{item!r} is not kind=LEVEL")
        pairs.append((name.strip(), value.strip()))
    return pairs


def the_settings(request: HTTPConnection) -> Settings:
    """The settings the service was started with (create_app keeps them on the app)."""
    return cast(Settings, request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(the_settings)]
