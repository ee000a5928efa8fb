"""docker-compose.yml validates, publishes only the proxy's web port and mounts the shipped
configs; two app instances share one PBX behind the proxy, with Redis behind a password.

Runs Debian's `docker-compose` (1.29) `config`, which resolves the file offline: no Docker
engine is needed, so this runs in CI where containers cannot. The scripts the containers
start with (make-secrets.sh, the app's and Redis's entrypoints) run here as they would there.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.service.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CONFIGS = ROOT / "telephony" / "asterisk"
PROXY_CONFIG = ROOT / "docker" / "proxy" / "haproxy.cfg"
REDIS_ENTRYPOINT = ROOT / "docker" / "redis" / "entrypoint.sh"
APP_ENTRYPOINT = ROOT / "docker" / "app" / "entrypoint.sh"
REQUIRED: dict[str, str] = {}  # secrets are files now (compose `secrets:`), not environment
SECRETS = {"ami_secret", "postgres_password", "redis_password", "callassist_secret_key"}
APPS = ("app1", "app2")
SERVICES = {"asterisk", "postgres", "redis", *APPS, "proxy"}

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


def address(service: dict[str, Any]) -> str:
    return str(service["networks"]["pbx"]["ipv4_address"])


def proxy_lines() -> list[list[str]]:
    """haproxy.cfg's directives, each split into words, comments left out."""
    lines = (line.split("#", 1)[0].split() for line in PROXY_CONFIG.read_text().splitlines())
    return [words for words in lines if words]


def test_the_stack_is_two_app_instances_behind_a_proxy(resolved: dict[str, Any]) -> None:
    assert set(resolved["services"]) == SERVICES


def test_only_the_proxy_publishes_a_port_and_only_on_loopback(resolved: dict[str, Any]) -> None:
    ports = {name: published(service) for name, service in resolved["services"].items()}
    assert ports == {
        **{name: [] for name in SERVICES},
        "proxy": ["127.0.0.1:8000:8000/tcp"],
    }
    assert ["bind", ":8000"] in proxy_lines()  # what the proxy listens on in its container


def test_the_web_port_can_be_moved() -> None:
    result = compose_config({**REQUIRED, "CALLASSIST_PORT": "18080"})
    assert result.returncode == 0, result.stderr
    proxy = yaml.safe_load(result.stdout)["services"]["proxy"]
    assert published(proxy) == ["127.0.0.1:18080:8000/tcp"]


def test_the_instances_differ_only_in_name_address_and_journal(resolved: dict[str, Any]) -> None:
    """One image and one set of settings; each instance its own name (shown as the PBX's
    owner), its own address (manager.conf permits it) and its own journal volume."""
    services = resolved["services"]
    apps = [services[name] for name in APPS]
    names = [app["environment"]["CALLASSIST_INSTANCE_NAME"] for app in apps]
    assert names == list(APPS)
    assert len({address(app) for app in apps}) == len(APPS)
    shared = [
        {k: v for k, v in app["environment"].items() if k != "CALLASSIST_INSTANCE_NAME"}
        for app in apps
    ]
    assert shared[0] == shared[1]
    assert shared[0]["CALLASSIST_AMI_URL"]  # one PBX, the default: one lock to compete for
    assert {app["image"] for app in apps} == {"callassist:local"}
    journals = []
    for app in apps:
        folder = str(Path(app["environment"]["CALLASSIST_JOURNAL_PATH"]).parent)
        assert folder == "/var/lib/callassist"
        journals += [v.split(":")[0] for v in app["volumes"] if f":{folder}:" in v]
    assert journals == ["journal", "journal2"]  # app1 keeps the one-instance stack's volume
    assert set(journals) <= set(resolved["volumes"])


def test_only_the_app_instances_may_reach_the_ami(resolved: dict[str, Any]) -> None:
    """Each instance has a fixed address on the stack's network; manager.conf's [callassist]
    permits those and nothing else, so whichever owns the PBX may log in."""
    services = resolved["services"]
    subnet = ipaddress.ip_network(resolved["networks"]["pbx"]["ipam"]["config"][0]["subnet"])
    addresses = [address(services[name]) for name in APPS]
    assert all(ipaddress.ip_address(a) in subnet for a in addresses)
    manager = (CONFIGS / "manager.conf").read_text()
    section = manager.split("[callassist]", 1)[1]
    rules = re.findall(r"^(deny|permit) = (\S+)", section, re.MULTILINE)
    assert rules == [
        ("deny", "0.0.0.0/0.0.0.0"),
        *(("permit", f"{a}/255.255.255.255") for a in addresses),
    ]


def test_the_proxy_balances_over_every_instance_by_its_readiness(
    resolved: dict[str, Any],
) -> None:
    """Each instance is a checked server at its fixed address; the check is /readyz, and an
    instance it takes out has its sessions cut so that its consoles reconnect elsewhere."""
    services = resolved["services"]
    lines = proxy_lines()
    servers = [words[2] for words in lines if words[0] == "server" and "check" in words]
    assert servers == [f"{address(services[name])}:8000" for name in APPS]
    text = " ".join(" ".join(words) for words in lines)
    assert "http-check send meth GET uri /readyz" in text
    assert "http-check expect status 200" in text
    defaults = next(words for words in lines if words[0] == "default-server")
    assert "on-marked-down" in defaults
    assert defaults[defaults.index("on-marked-down") + 1] == "shutdown-sessions"
    assert not [words for words in lines if words[0] in ("cookie", "stick", "stick-table")]
    proxy = services["proxy"]
    assert f"{PROXY_CONFIG}:/usr/local/etc/haproxy/haproxy.cfg:ro" in proxy["volumes"]
    # the apps believe X-Forwarded-For from the proxy's address only
    assert ["option", "forwardfor"] in lines
    for name in APPS:
        assert services[name]["environment"]["FORWARDED_ALLOW_IPS"] == address(proxy)


def test_the_proxy_keeps_websockets_open_and_passes_their_upgrade(
    resolved: dict[str, Any],
) -> None:
    """HAProxy in HTTP mode passes Upgrade and Connection as sent and tunnels after the 101:
    nothing in the config may remove or rewrite them, and an idle console is kept an hour."""
    lines = proxy_lines()
    assert ["mode", "http"] in lines
    header_rules = [w for w in lines if w[0] in ("http-request", "http-response")]
    for words in header_rules:
        assert not {"upgrade", "connection"} & {w.lower() for w in words}, words
    assert not [w for w in lines if w[:2] in (["option", "httpclose"], ["option", "forceclose"])]
    tunnel = next(words[2] for words in lines if words[:2] == ["timeout", "tunnel"])
    assert re.fullmatch(r"\d+h", tunnel) and int(tunnel[:-1]) >= 1, tunnel


def test_the_proxy_never_logs_a_query_string() -> None:
    """A console's WebSocket URL carries its login token (/ws?token=...)."""
    lines = proxy_lines()
    assert not [w for w in lines if w[:2] == ["option", "httplog"]]
    log_format = next(" ".join(w[1:]) for w in lines if w[0] == "log-format")
    assert "%HP" in log_format
    for whole_uri in ("%r", "%HU", "%HQ", "%[url]", "%[query]"):
        assert whole_uri not in log_format


def test_the_apps_read_the_recordings_asterisk_writes(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in APPS:
        app = services[name]
        folder = app["environment"]["CALLASSIST_RECORDINGS_DIR"]
        assert f"recordings:{folder}:ro" in app["volumes"], name
    assert "recordings:/var/spool/asterisk/monitor:rw" in services["asterisk"]["volumes"]
    assert "recordings" in resolved["volumes"]


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
        "redis": {"redis_password"},
        "proxy": set(),
        **{name: SECRETS for name in APPS},
    }
    for name in APPS:
        env = services[name]["environment"]
        assert env["CALLASSIST_AMI_URL"] == "ami://callassist:{ami_secret}@asterisk:5038"
        assert env["CALLASSIST_DATABASE_URL"] == (
            "postgresql+psycopg://callassist:{postgres_password}@postgres:5432/callassist"
        )
        assert env["CALLASSIST_REDIS_URL"] == "redis://:{redis_password}@redis:6379/0"
        assert "CALLASSIST_SECRET_KEY" not in env
        assert env["CALLASSIST_TRUNKS"] == "PJSIP/carrier"
    assert "AMI_SECRET" not in services["asterisk"]["environment"]
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in postgres


def test_make_secrets_writes_every_secret_readable_in_the_containers(tmp_path: Path) -> None:
    """Compose mounts a secret file with its host owner and mode, and the containers read
    them as unprivileged users: the files are 0644, their folder 0700. Hex, kept on a rerun."""
    (tmp_path / "make-secrets.sh").write_bytes((ROOT / "docker" / "make-secrets.sh").read_bytes())
    run = ["sh", str(tmp_path / "make-secrets.sh")]
    subprocess.run(run, check=True, capture_output=True, timeout=30)
    folder = tmp_path / "secrets"
    assert {p.name for p in folder.iterdir()} == SECRETS
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    first = {}
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
        first[path.name] = path.read_text()
        assert re.fullmatch(r"[0-9a-f]{64}", first[path.name]), path.name
    subprocess.run(run, check=True, capture_output=True, timeout=30)
    assert {p.name: p.read_text() for p in folder.iterdir()} == first


def test_the_app_entrypoint_fills_every_secret_the_apps_are_given(
    resolved: dict[str, Any], tmp_path: Path
) -> None:
    """Every {name} in an instance's environment is one of its secrets, and the image's
    entrypoint puts that secret's value in its place."""
    app = resolved["services"]["app1"]
    granted = {s["source"] if isinstance(s, dict) else s for s in app["secrets"]}
    placeholders = {
        name for value in app["environment"].values() for name in re.findall(r"{(\w+)}", value)
    }
    assert placeholders == granted - {"callassist_secret_key"}
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in granted:
        (secrets / name).write_text(f"{name.replace('_', '-')}-value")
    script = APP_ENTRYPOINT.read_text().replace("secrets=/run/secrets", f"secrets={secrets}")
    assert script != APP_ENTRYPOINT.read_text()
    (tmp_path / "entrypoint.sh").write_text(script)
    env = {"PATH": os.environ["PATH"], **app["environment"]}
    result = subprocess.run(
        ["sh", str(tmp_path / "entrypoint.sh"), "env"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    filled = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert filled["CALLASSIST_REDIS_URL"] == "redis://:redis-password-value@redis:6379/0"
    assert "ami-secret-value@" in filled["CALLASSIST_AMI_URL"]
    assert ":postgres-password-value@" in filled["CALLASSIST_DATABASE_URL"]
    assert filled["CALLASSIST_SECRET_KEY"] == "callassist-secret-key-value"
    (secrets / "redis_password").unlink()  # a missing file stops the start, naming the cure
    missing = subprocess.run(
        ["sh", str(tmp_path / "entrypoint.sh"), "true"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert missing.returncode == 1
    assert "make-secrets.sh" in missing.stderr


def test_redis_keeps_nothing_and_gets_its_password_off_the_command_line(
    resolved: dict[str, Any],
) -> None:
    redis = resolved["services"]["redis"]
    assert redis["entrypoint"] == ["sh", "/usr/local/bin/callassist-redis"]
    assert f"{REDIS_ENTRYPOINT}:/usr/local/bin/callassist-redis:ro" in redis["volumes"]
    assert "command" not in redis
    assert "/data" in redis["tmpfs"]  # not the image's volume: nothing outlives the container
    healthcheck = " ".join(redis["healthcheck"]["test"])
    assert "REDISCLI_AUTH=" in healthcheck and "/run/secrets/redis_password" in healthcheck
    assert " -a " not in healthcheck
    for name in APPS:  # the apps wait for it
        assert resolved["services"][name]["depends_on"]["redis"]["condition"] == "service_healthy"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server (needs.sh)")
def test_redis_refuses_a_client_without_the_password(tmp_path: Path) -> None:
    """docker/redis/entrypoint.sh run as the container runs it, on a loopback port: a client
    without the secret's password is refused, one with it is served, nothing is saved, and
    the password is on no command line."""
    password = "0123456789abcdef0123456789abcdef"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "redis_password").write_text(password)
    port = free_port()
    script = REDIS_ENTRYPOINT.read_text()
    replaced = (
        script.replace("/run/secrets/", f"{secrets}/")
        .replace("port 6379\n", f"port {port}\nbind 127.0.0.1\n")
        .replace("dir /data\n", f"dir {tmp_path}\n")
    )
    assert replaced.count(str(tmp_path)) == 2 and f"port {port}" in replaced
    (tmp_path / "entrypoint.sh").write_text(replaced)
    server = subprocess.Popen(
        ["sh", str(tmp_path / "entrypoint.sh")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def cli(*args: str, auth: str | None = None) -> str:
            env = {"PATH": os.environ["PATH"], **({"REDISCLI_AUTH": auth} if auth else {})}
            command = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args]
            return subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()

        deadline = time.monotonic() + 10
        while cli("ping", auth=password) != "PONG":
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "redis did not answer"
            time.sleep(0.05)
        assert "NOAUTH" in cli("ping")
        assert "NOAUTH" in cli("publish", "callassist", "pop")
        assert cli("ping", auth="not-the-password") != "PONG"
        assert cli("config", "get", "save", auth=password).split() == ["save"]  # no snapshots
        assert cli("config", "get", "appendonly", auth=password).split() == ["appendonly", "no"]
        command_line = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert b"redis-server" in command_line
        assert password.encode() not in command_line
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()
    assert not list(tmp_path.glob("*.rdb")) and not list(tmp_path.glob("appendonly*"))


def test_every_container_is_locked_down(resolved: dict[str, Any]) -> None:
    """No new privileges, every capability dropped but what the start needs, a read-only
    root filesystem; what each writes is a tmpfs or a volume."""
    allowed: dict[str, set[str]] = {name: set() for name in SERVICES}
    allowed["asterisk"] = {"CHOWN", "SETUID", "SETGID"}
    allowed["postgres"] = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"}
    for name, service in resolved["services"].items():
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["cap_drop"] == ["ALL"], name
        assert set(service.get("cap_add", [])) == allowed[name], name
        assert service["read_only"] is True, name
        assert "/tmp" in service["tmpfs"], name
    for name in APPS:
        app = resolved["services"][name]
        assert app["environment"]["CALLASSIST_JOURNAL_PATH"].startswith("/var/lib/callassist/")


def test_every_service_has_a_healthcheck_and_the_apps_wait_for_them(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), name
    for name in APPS:
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
        waits = services[name]["depends_on"]
        assert {name: w["condition"] for name, w in waits.items()} == {
            "asterisk": "service_healthy",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }


def test_no_secret_is_asked_of_the_environment() -> None:
    """Nothing interpolates a secret into the file; they are read from secret files only."""
    text = COMPOSE.read_text()
    for name in ("AMI_SECRET", "POSTGRES_PASSWORD", "CALLASSIST_SECRET_KEY", "REDIS"):
        assert f"${{{name}" not in text
