"""The service's settings: one class, read from the environment (prefix ``CALLASSIST_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from telephony.ami.link import LinkConfig
from telephony.calls.trunks import TrunkPlan
from telephony.lines.watch import WatchRules

# Secrets people paste from examples; refused outside the demo.
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "callassist", "test"}
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLASSIST_", extra="ignore")

    database_url: str = Field(default="sqlite:///callassist.db", repr=False)  # may hold a password
    ami_url: SecretStr | None = None  # ami://user:secret@host:5038
    trunks: str = ""  # PJSIP/2001,PJSIP/carrier-*
    redis_url: str | None = None
    scripts_dir: Path | None = None
    recordings_dir: Path = Path("/var/spool/asterisk/monitor")
    secret_key: SecretStr | None = None  # signs login tokens
    allowed_origins: str = ""  # comma-separated; empty: the service's own origin only
    token_minutes: int = Field(default=8 * 60, ge=1, le=7 * 24 * 60)  # one shift
    short_abandon_seconds: float = Field(default=5.0, ge=0)
    drop_cluster_size: int = Field(default=3, ge=2)
    drop_cluster_window_seconds: float = Field(default=600.0, gt=0)
    company_name: str = Field(default="Callassist Demo", min_length=1, max_length=120)
    pop_ack_seconds: float = Field(default=2.0, gt=0)  # a pop not acknowledged by then is resent
    pop_resends: int = Field(default=3, ge=0)
    frontend_dir: Path = Path(__file__).resolve().parent.parent / "frontend"
    demo: bool = False  # set by `callassist demo`: the built-in simulator is the PBX
    demo_calls_per_minute: float = Field(default=6.0, ge=0)  # 0: calls only when a test places them
    # How long a complaint may take to be resolved, by its severity.
    complaint_due_hours_critical: float = Field(default=4.0, gt=0)
    complaint_due_hours_high: float = Field(default=24.0, gt=0)
    complaint_due_hours_medium: float = Field(default=72.0, gt=0)
    complaint_due_hours_low: float = Field(default=168.0, gt=0)
    # QA review: the scorecard (None: the shipped app/scorecards/default.yaml) and the
    # adherence rules a call is checked against.
    scorecard_file: Path | None = None
    adherence_greeting_seconds: float = Field(default=15.0, ge=0)
    adherence_max_hold_seconds: float = Field(default=120.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("DATABASE_URL must be sqlite:///path.db or postgresql+psycopg://...")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @field_validator("ami_url")
    @classmethod
    def _ami_url_parses(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            LinkConfig.from_url(url.get_secret_value())  # its errors never echo the secret
        return url

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
        if self.ami_url is None:
            raise ValueError("CALLASSIST_AMI_URL is required: ami://user:secret@pbx-host:5038")

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def trunk_plan(self) -> TrunkPlan:
        return TrunkPlan.parse(self.trunks)

    @property
    def watch_rules(self) -> WatchRules:
        return WatchRules(self.drop_cluster_size, self.drop_cluster_window_seconds)

    @property
    def complaint_due_hours(self) -> dict[str, float]:
        """Hours to resolve a complaint, by severity."""
        return {
            "critical": self.complaint_due_hours_critical,
            "high": self.complaint_due_hours_high,
            "medium": self.complaint_due_hours_medium,
            "low": self.complaint_due_hours_low,
        }

    def link_config(self) -> LinkConfig | None:
        """The AMI link's settings; None when no PBX is configured."""
        if self.ami_url is None:
            return None
        return LinkConfig.from_url(self.ami_url.get_secret_value())
