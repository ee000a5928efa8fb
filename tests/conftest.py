"""Shared test fixtures: where the recorded AMI streams are."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = FIXTURES / "ami"
CAPTURE_FILES = sorted(CAPTURES.glob("*.ami"))
LAB_TRUNKS = "PJSIP/2001"  # the trunk endpoint of the first lab, where most were recorded
# The second lab ran the shipped configs: trunk endpoint `carrier`, Timestamp headers on.
LAB2_PREFIX = "lab2_"
LAB2_TRUNKS = "PJSIP/carrier"


def trunks_for(capture: str | Path) -> str:
    """The --trunks a capture replays with (ami/README.md): its lab's trunk endpoint."""
    name = capture.name if isinstance(capture, Path) else capture
    return LAB2_TRUNKS if name.startswith(LAB2_PREFIX) else LAB_TRUNKS


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    return CAPTURES
