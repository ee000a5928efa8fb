"""callassist: the service (API, WebSocket hub, records) on top of the telephony core."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("callassist")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
