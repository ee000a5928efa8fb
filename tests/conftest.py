"""Shared test fixtures: where the recorded AMI streams are; a Redis for the tests of
several instances (CALLASSIST_TEST_REDIS_URL names one, else they start a redis-server of
their own)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.harness import free_port

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


TEST_REDIS = "CALLASSIST_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis to relay live messages through: CALLASSIST_TEST_REDIS_URL's (.ci/run starts
    one and sets it), else a redis-server of our own on a free loopback port, else a skip."""
    given = os.environ.get(TEST_REDIS)
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"{TEST_REDIS} is not set and redis-server is not installed (tests/needs.sh)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    command = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def redis_settings(redis_server: str) -> dict[str, str]:
    """The relay's settings for one test: its own prefix, so tests never hear each other."""
    return {"redis_url": redis_server, "redis_prefix": f"test-{uuid.uuid4().hex[:12]}"}


def wait_for_port(port: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {within} s")
