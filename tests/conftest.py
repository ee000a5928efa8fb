"""Shared test fixtures: where the recorded AMI streams are."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = FIXTURES / "ami"
CAPTURE_FILES = sorted(CAPTURES.glob("*.ami"))
LAB_TRUNKS = "PJSIP/2001"  # the trunk endpoint of the lab the captures were recorded in


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    return CAPTURES
