"""docker-compose.yml validates, publishes only the web port and mounts the shipped configs.

Runs Debian's `docker-compose` (1.29) `config`, which resolves the file offline: no Docker
engine is needed, so this runs in CI where containers cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CONFIGS = ROOT / "telephony" / "asterisk"
REQUIRED = {
    "AMI_SECRET": "ami-secret-for-the-test-0123456789",
    "POSTGRES_PASSWORD": "pg-password-for-the-test-0123",
    "CALLASSIST_SECRET_KEY": "k" * 48,
}

pytestmark = pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="Debian's docker-compose is not installed (see tests/needs.sh)",
)


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only what the file interpolates: nothing from the caller's shell leaks in.
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    result = compose_config(REQUIRED)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def published(service: dict[str, Any]) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def test_only_the_web_port_is_published_and_only_on_loopback(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(services) == {"asterisk", "postgres", "redis", "app"}
    ports = {name: published(service) for name, service in services.items()}
    assert ports == {
        "asterisk": [],
        "postgres": [],
        "redis": [],
        "app": ["127.0.0.1:8000:8000/tcp"],
    }


def test_the_web_port_can_be_moved() -> None:
    result = compose_config({**REQUIRED, "CALLASSIST_PORT": "18080"})
    assert result.returncode == 0, result.stderr
    app = yaml.safe_load(result.stdout)["services"]["app"]
    assert published(app) == ["127.0.0.1:18080:8000/tcp"]


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_secret_stops_compose_with_its_name(missing: str) -> None:
    env = {name: value for name, value in REQUIRED.items() if name != missing}
    result = compose_config(env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_the_shipped_asterisk_configs_are_mounted_read_only(resolved: dict[str, Any]) -> None:
    volumes = [str(v) for v in resolved["services"]["asterisk"]["volumes"]]
    # every shipped config (the minimal ones that keep Asterisk's log clean too), except the
    # operators' sample pjsip_probe.conf, whose account pjsip.conf already carries
    shipped = {path.name for path in CONFIGS.glob("*.conf")} - {"pjsip_probe.conf"}
    assert {"manager.conf", "pjsip.conf", "extensions.conf", "modules.conf"} <= shipped
    for name in sorted(shipped):
        assert f"{CONFIGS / name}:/etc/asterisk/{name}:ro" in volumes, volumes
    mounted = {Path(v.split(":")[0]).name for v in volumes if v.startswith(str(CONFIGS))}
    includes = {"manager_secret.conf", "pjsip_secrets.conf"}  # written by the entrypoint
    for name in mounted:
        for line in (CONFIGS / name).read_text().splitlines():
            if line.startswith("#include"):
                target = line.split(None, 1)[1].strip('"')
                assert target in mounted | includes, f"{name} includes {target}: not mounted"


def test_the_app_reads_the_recordings_asterisk_writes(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    app = services["app"]
    folder = app["environment"]["CALLASSIST_RECORDINGS_DIR"]
    assert f"recordings:{folder}:ro" in app["volumes"]
    assert "recordings:/var/spool/asterisk/monitor:rw" in services["asterisk"]["volumes"]
    assert "recordings" in resolved["volumes"]


def test_the_app_gets_its_pbx_database_and_secrets_from_the_environment(
    resolved: dict[str, Any],
) -> None:
    app = resolved["services"]["app"]
    env = app["environment"]
    assert env["CALLASSIST_AMI_URL"] == (f"ami://callassist:{REQUIRED['AMI_SECRET']}@asterisk:5038")
    assert env["CALLASSIST_DATABASE_URL"] == (
        f"postgresql+psycopg://callassist:{REQUIRED['POSTGRES_PASSWORD']}@postgres:5432/callassist"
    )
    assert env["CALLASSIST_SECRET_KEY"] == REQUIRED["CALLASSIST_SECRET_KEY"]
    assert env["CALLASSIST_TRUNKS"] == "PJSIP/carrier"
    asterisk_env = resolved["services"]["asterisk"]["environment"]
    assert asterisk_env["AMI_SECRET"] == REQUIRED["AMI_SECRET"]


def test_every_service_has_a_healthcheck_and_the_app_waits_for_them(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), name
    assert "/readyz" in " ".join(services["app"]["healthcheck"]["test"])
    waits = services["app"]["depends_on"]
    assert {name: w["condition"] for name, w in waits.items()} == {
        "asterisk": "service_healthy",
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }


def test_no_secret_is_written_into_the_compose_file() -> None:
    text = COMPOSE.read_text()
    for value in REQUIRED.values():
        assert value not in text
