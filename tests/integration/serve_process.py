"""A real `callassist serve` child process: what an operator starts, and what SIGKILL kills.

Restart and stop tests need the real thing: a process whose memory is gone at once (SIGKILL),
or that gets SIGTERM from its supervisor, with the AMI simulator in the test's own loop as
its PBX. Only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from telephony.simulator.server import AmiServer
from tests.service.harness import AMI_SECRET, AMI_USER, PASSWORD, SECRET_KEY, free_port

SCRIPT = Path(sys.executable).parent / "callassist"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app.cli"]


def serve_environment(database_url: str, pbx: AmiServer, **settings: str) -> dict[str, str]:
    """This process's environment minus every CALLASSIST_ setting, plus the service's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLASSIST_")}
    values = {
        "database_url": database_url,
        "ami_url": f"ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{pbx.port}",
        "trunks": "PJSIP/2001",
        "secret_key": SECRET_KEY,
        **settings,
    }
    env.update({f"CALLASSIST_{name.upper()}": value for name, value in values.items()})
    return env


class ServeProcess:
    """One `callassist serve` at a time; start it again after a kill or a stop.

    Its output goes to ``log_file`` (appended across restarts), so a test can read what an
    operator would read in the journal of the service manager.
    """

    def __init__(self, database_url: str, pbx: AmiServer, workdir: Path, **settings: str):
        self.env = serve_environment(database_url, pbx, **settings)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = workdir / "serve.log"
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self.client = httpx.AsyncClient(base_url=self.url, timeout=10)
        self._tokens: dict[str, str] = {}

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    async def start(self, *, ready: bool = True, within: float = 60.0) -> None:
        """Start the service; wait for /readyz 200 (``ready``) or only /healthz 200."""
        self._spawn()
        await self._wait_for("/readyz" if ready else "/healthz", within)

    def _spawn(self) -> None:
        assert not self.running, "the service is already running"
        self._output = self.log_file.open("ab")
        self._output.write(f"--- start {self.starts + 1} ---\n".encode())
        self._output.flush()
        command = [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self._process = subprocess.Popen(
            command, cwd=self.workdir, env=self.env, stdout=self._output, stderr=self._output
        )
        self.starts += 1
        self._tokens.clear()

    async def _wait_for(self, path: str, within: float) -> None:
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            if not self.running:
                raise AssertionError(f"callassist serve exited early:\n{self.log[-3000:]}")
            try:
                reply = await self.client.get(path, timeout=2)
                if reply.status_code == 200:
                    return
                last = reply.text
            except httpx.TransportError as error:
                last = error
            await asyncio.sleep(0.1)
        raise AssertionError(f"{path} not 200 within {within} s: {last}\n{self.log[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: nothing after this moment runs in the service, no flush, no goodbye."""
        process = self._require()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self._closed()

    async def stop(self, *, within: float = 60.0) -> int:
        """SIGTERM, as a service manager stops it; the exit code once it is gone."""
        process = self._require()
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + within
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                self._closed()
                raise AssertionError(f"still running {within} s after SIGTERM")
            await asyncio.sleep(0.05)
        self._closed()
        return process.returncode

    async def close(self) -> None:
        """The test's end: whatever runs is killed, the client closed."""
        if self.running:
            self.kill()
        await self.client.aclose()

    async def token(self, username: str) -> str:
        if username not in self._tokens:
            reply = await self.client.post(
                "/api/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert reply.status_code == 200, reply.text
            self._tokens[username] = reply.json()["access_token"]
        return self._tokens[username]

    async def get(self, path: str, username: str = "qa", **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(username)}"}
        return await self.client.get(path, params=params, headers=headers)

    async def post(self, path: str, username: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(username)}"}
        return await self.client.post(path, json=body, headers=headers)

    async def calls(self, username: str = "qa", **params: Any) -> list[dict[str, Any]]:
        reply = await self.get("/api/calls", username, limit=500, **params)
        assert reply.status_code == 200, reply.text
        items: list[dict[str, Any]] = reply.json()["items"]
        return items

    def _require(self) -> subprocess.Popen[bytes]:
        assert self._process is not None and self._process.poll() is None, "not running"
        return self._process

    def _closed(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None
