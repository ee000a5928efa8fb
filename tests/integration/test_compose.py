"""docker-compose.yml validates, publishes only the web port and mounts the shipped configs.

Runs Debian's `docker-compose` (1.29) `config`, which resolves the file offline: no Docker
engine is needed, so this runs in CI where containers cannot.
"""

from __future__ import annotations

import ipaddress
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
REQUIRED: dict[str, str] = {}  # secrets are files now (compose `secrets:`), not environment
SECRETS = {"ami_secret", "postgres_password", "callassist_secret_key"}

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
    assert set(services) == {"asterisk", "postgres", "app"}  # no Redis until it is used
    ports = {name: published(service) for name, service in services.items()}
    assert ports == {
        "asterisk": [],
        "postgres": [],
        "app": ["127.0.0.1:8000:8000/tcp"],
    }


def test_the_web_port_can_be_moved() -> None:
    result = compose_config({**REQUIRED, "CALLASSIST_PORT": "18080"})
    assert result.returncode == 0, result.stderr
    app = yaml.safe_load(result.stdout)["services"]["app"]
    assert published(app) == ["127.0.0.1:18080:8000/tcp"]


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


def test_secrets_are_files_and_in_no_environment(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(resolved["secrets"]) == SECRETS
    for name, secret in resolved["secrets"].items():
        assert secret["file"] == str(ROOT / "docker" / "secrets" / name)
    assert "docker/secrets/" in (ROOT / ".gitignore").read_text()
    granted = {
        name: {s["source"] if isinstance(s, dict) else s for s in service.get("secrets", [])}
        for name, service in services.items()
    }
    assert granted == {
        "asterisk": {"ami_secret"},
        "postgres": {"postgres_password"},
        "app": SECRETS,
    }
    env = services["app"]["environment"]
    assert env["CALLASSIST_AMI_URL"] == "ami://callassist:{ami_secret}@asterisk:5038"
    assert env["CALLASSIST_DATABASE_URL"] == (
        "postgresql+psycopg://callassist:{postgres_password}@postgres:5432/callassist"
    )
    assert "CALLASSIST_SECRET_KEY" not in env
    assert env["CALLASSIST_TRUNKS"] == "PJSIP/carrier"
    assert "AMI_SECRET" not in services["asterisk"]["environment"]
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in postgres


def test_every_container_is_locked_down(resolved: dict[str, Any]) -> None:
    """No new privileges, every capability dropped but what the start needs, a read-only
    root filesystem; what each writes is a tmpfs or a volume."""
    allowed = {"asterisk": {"CHOWN", "SETUID", "SETGID"}, "app": set()}
    allowed["postgres"] = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"}
    for name, service in resolved["services"].items():
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["cap_drop"] == ["ALL"], name
        assert set(service.get("cap_add", [])) == allowed[name], name
        assert service["read_only"] is True, name
        assert "/tmp" in service["tmpfs"], name
    app = resolved["services"]["app"]
    assert app["environment"]["CALLASSIST_JOURNAL_PATH"].startswith("/var/lib/callassist/")
    assert "journal:/var/lib/callassist:rw" in app["volumes"]


def test_only_the_app_may_reach_the_ami(resolved: dict[str, Any]) -> None:
    """The app has a fixed address on the stack's network; manager.conf permits only it."""
    app = resolved["services"]["app"]
    address = app["networks"]["pbx"]["ipv4_address"]
    subnet = resolved["networks"]["pbx"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
    manager = (CONFIGS / "manager.conf").read_text()
    assert f"permit = {address}/255.255.255.255" in manager


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
    }


def test_no_secret_is_asked_of_the_environment() -> None:
    """Nothing interpolates a secret into the file; they are read from secret files only."""
    text = COMPOSE.read_text()
    for name in ("AMI_SECRET", "POSTGRES_PASSWORD", "CALLASSIST_SECRET_KEY", "REDIS"):
        assert f"${{{name}" not in text
