"""Where the AMI link goes, as whom, and its timings: one frozen value, built from a URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from telephony.ami import actions
from telephony.ami.wire import DEFAULT_MAX_FRAME
from telephony.scope import NO_SCOPE, IdScope


@dataclass(frozen=True, slots=True)
class LinkConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = ""
    secret: str = field(default="", repr=False)
    event_classes: str = actions.EVENT_CLASSES
    events: tuple[str, ...] = actions.WANTED_EVENTS
    variables: tuple[str, ...] = actions.WANTED_VARIABLES
    connect_timeout: float = 5.0
    login_timeout: float = 5.0
    ping_interval: float = 10.0
    ping_timeout: float = 5.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    queue_size: int = 10_000
    max_frame: int = DEFAULT_MAX_FRAME
    resync_interval: float | None = 900.0  # also re-read the live picture this often
    ids: IdScope = NO_SCOPE  # the PBX's name in front of its ids, when there are several

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> LinkConfig:
        """``ami://user:secret@host:5038``; a bad URL is refused without echoing the secret."""
        try:
            parts = urlsplit(url)
            port = parts.port or 5038
        except ValueError:
            raise ValueError("the AMI URL is not a URL with a valid port") from None
        if parts.scheme != "ami" or not parts.hostname or not parts.username:
            raise ValueError("the AMI URL must look like ami://user:secret@host:5038")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username),
            secret=unquote(parts.password or ""),
            **overrides,
        )

    @property
    def address(self) -> str:
        """Where the link goes, fit for logs and pages: no credential in it."""
        return f"{self.host}:{self.port}"
