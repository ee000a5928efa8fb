"""The compose stack's proxy, docker/proxy/haproxy.cfg, run as shipped in front of two
stand-in instances on loopback: it spreads requests over the instances whose /readyz
answers 200, tunnels a console's WebSocket, cuts the consoles of an instance that stops
being ready, still answers when none is, and logs no login token.

Only the addresses change (the compose network's become loopback ports) and the check
interval (2 s becomes 100 ms, so that the test waits less).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from io import BufferedIOBase
from pathlib import Path

import pytest
import yaml

from tests.service.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
PROXY_CONFIG = ROOT / "docker" / "proxy" / "haproxy.cfg"
COMPOSE = ROOT / "docker-compose.yml"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TOKEN = "tok3n-that-must-not-be-logged"

# Debian puts it in /usr/sbin, which a user's PATH may lack.
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")

pytestmark = pytest.mark.skipif(
    HAPROXY is None,
    reason="Debian's haproxy is not installed (see tests/needs.sh)",
)


class Instance:
    """An app instance as the proxy sees it: /readyz, pages, and /ws that answers 101, says
    its name and then echoes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = True
        self.seen: list[tuple[str, dict[str, str]]] = []
        instance = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                instance.handle(self.rfile, self.connection)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, rfile: BufferedIOBase, connection: socket.socket) -> None:
        line = rfile.readline().decode("latin-1")
        if not line:
            return
        path = line.split()[1]
        headers: dict[str, str] = {}
        while (header := rfile.readline().decode("latin-1").strip()) != "":
            key, _, value = header.partition(":")
            headers[key.strip().lower()] = value.strip()
        if path == "/readyz":
            self.reply(connection, 200 if self.ready else 503, "ready" if self.ready else "no")
            return
        self.seen.append((path, headers))
        if headers.get("upgrade", "").lower() != "websocket":
            self.reply(connection, 200, self.name)
            return
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + WS_GUID).encode()).digest()
        ).decode()
        connection.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n{self.name}\n"
            ).encode()
        )
        while data := connection.recv(4096):
            connection.sendall(data)

    @staticmethod
    def reply(connection: socket.socket, status: int, body: str) -> None:
        connection.sendall(
            (
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n{body}"
            ).encode()
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Proxy:
    def __init__(self, port: int, log: Path, instances: list[Instance]) -> None:
        self.port, self.log, self.instances = port, log, instances

    def get(self, path: str = "/") -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def served_by(self, requests: int = 12) -> set[str]:
        return {self.get()[1] for _ in range(requests)}

    def open_console(self) -> tuple[socket.socket, str, str]:
        """A WebSocket handshake as a browser sends it; the response head and the name."""
        key = base64.b64encode(b"callassist-test!").decode()
        console = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        console.sendall(
            (
                f"GET /ws?token={TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://127.0.0.1:{self.port}\r\n\r\n"
            ).encode()
        )
        received = b""
        while b"\r\n\r\n" not in received or not received.endswith(b"\n"):
            chunk = console.recv(4096)
            assert chunk, received
            received += chunk
        head, _, name = received.decode().partition("\r\n\r\n")
        return console, head, name.strip()


def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def app_addresses() -> list[str]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    return [services[name]["networks"]["pbx"]["ipv4_address"] for name in ("app1", "app2")]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    folder = tmp_path_factory.mktemp("proxy")
    instances = [Instance("app1"), Instance("app2")]
    port = free_port()
    config = PROXY_CONFIG.read_text()
    changes = {
        "bind :8000\n": f"bind 127.0.0.1:{port}\n",
        "bind 127.0.0.1:8404\n": f"bind 127.0.0.1:{free_port()}\n",
        "inter 2s ": "inter 100ms ",
    }
    for address, instance in zip(app_addresses(), instances, strict=True):
        changes[f" {address}:8000 "] = f" 127.0.0.1:{instance.port} "
    for old, new in changes.items():
        assert old in config, old
        config = config.replace(old, new)
    (folder / "haproxy.cfg").write_text(config)
    log = folder / "haproxy.log"
    with log.open("wb") as output:
        haproxy = subprocess.Popen(
            [str(HAPROXY), "-db", "-f", str(folder / "haproxy.cfg")],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Proxy(port, log, instances)
    try:

        def answers() -> bool:
            assert haproxy.poll() is None, log.read_text()
            try:
                return running.get()[0] == 200
            except OSError:
                return False

        eventually(answers)
        yield running
    finally:
        haproxy.terminate()
        haproxy.wait(timeout=10)
        for instance in instances:
            instance.close()


@pytest.fixture
def both_ready(proxy: Proxy) -> Proxy:
    for instance in proxy.instances:
        instance.ready = True
    eventually(lambda: proxy.served_by() == {"app1", "app2"})
    return proxy


def test_requests_are_spread_over_every_ready_instance(both_ready: Proxy) -> None:
    assert both_ready.served_by(20) == {"app1", "app2"}


def test_a_console_websocket_is_upgraded_and_tunnelled(both_ready: Proxy) -> None:
    console, head, name = both_ready.open_console()
    with console:
        assert head.startswith("HTTP/1.1 101"), head
        key = base64.b64encode(b"callassist-test!").decode()
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        answered = dict(
            (key.lower(), value.strip())
            for key, _, value in (line.partition(":") for line in head.splitlines()[1:])
        )
        assert answered["sec-websocket-accept"] == accept
        assert answered["upgrade"].lower() == "websocket"
        instance = next(i for i in both_ready.instances if i.name == name)
        path, headers = instance.seen[-1]
        assert path == f"/ws?token={TOKEN}"
        assert headers["upgrade"] == "websocket"
        assert "upgrade" in headers["connection"].lower()
        assert headers["host"] == f"127.0.0.1:{both_ready.port}"  # the origin check needs it
        assert headers["x-forwarded-for"] == "127.0.0.1"
        for message in (b"ack 1", b"ack 2"):  # both ways, after the 101
            console.sendall(message)
            assert console.recv(4096) == message


def test_an_instance_that_stops_being_ready_loses_its_consoles_and_gets_no_more(
    both_ready: Proxy,
) -> None:
    console, _, name = both_ready.open_console()
    with console:
        failing = next(i for i in both_ready.instances if i.name == name)
        failing.ready = False  # its Redis link is down, say
        console.settimeout(5)
        assert console.recv(4096) == b""  # cut: the console reconnects through the proxy
    other = next(i.name for i in both_ready.instances if i is not failing)
    assert both_ready.served_by(20) == {other}
    console, _, name = both_ready.open_console()  # the reconnect lands on the ready one
    console.close()
    assert name == other
    failing.ready = True
    eventually(lambda: both_ready.served_by() == {"app1", "app2"})


def test_with_no_instance_ready_the_pages_still_answer(both_ready: Proxy) -> None:
    """The database down: every /readyz says so, and the pages say what is wrong rather
    than the proxy answering 503 for all of them."""
    for instance in both_ready.instances:
        instance.ready = False
    time.sleep(0.5)  # both checked down
    assert both_ready.get()[0] == 200
    assert b"DOWN" in both_ready.log.read_bytes()


def test_no_login_token_reaches_the_proxy_log(both_ready: Proxy) -> None:
    console, _, _ = both_ready.open_console()
    console.close()
    assert both_ready.get(f"/api/status?token={TOKEN}")[0] == 200
    eventually(lambda: b"/api/status" in both_ready.log.read_bytes())
    logged = both_ready.log.read_text()
    assert "/ws" in logged
    assert TOKEN not in logged
