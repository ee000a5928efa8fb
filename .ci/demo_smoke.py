"""The demo smoke check: what a newcomer does, on a fresh clone.

Clone the repository, run the README's set-up-and-run command (`make demo`), wait for
/readyz, log in as a demo agent with the password the demo printed, and see a call arrive on
the agent's live WebSocket; then stop the demo.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
SETUP_LIMIT = 600  # a fresh clone installs its own .venv first
READY_LIMIT = 60
CALL_LIMIT = 90
USER_LINE = re.compile(r"^\s+(agent\d)\s+(\S+)\s+agent\s+(PJSIP/\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Demo:
    def __init__(self, clone: Path, port: int) -> None:
        self.lines: list[str] = []
        self.agents: dict[str, str] = {}
        self.process = subprocess.Popen(
            ["make", "demo", f"DEMO_ARGS=--port {port}"],
            cwd=clone,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            found = USER_LINE.match(line)
            if found:
                self.agents[found.group(1)] = found.group(2)

    def stop(self) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                raise SystemExit("the demo did not stop within 20 s of Ctrl-C") from None
        return self.process.returncode

    def fail(self, why: str) -> None:
        tail = "\n".join(self.lines[-40:])
        raise SystemExit(f"demo smoke check failed: {why}\n--- demo output (last lines) ---\n{tail}")


def wait_for(demo: Demo, ready: object, what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not ready():  # type: ignore[operator]
        if demo.process.poll() is not None:
            demo.fail(f"the demo exited with {demo.process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            demo.fail(f"no {what} within {limit:.0f} s")
        time.sleep(0.5)


def readyz(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def an_agent_sees_a_call(url: str, agents: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        tokens = {}
        for name, password in agents.items():
            reply = await client.post("/api/auth/token", data={"username": name, "password": password})
            reply.raise_for_status()
            tokens[name] = reply.json()["access_token"]

    async def watch(name: str) -> str:
        address = url.replace("http", "ws", 1) + f"/ws?token={tokens[name]}"
        async with websockets.connect(address) as ws:
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "snapshot" and message["calls"]:
                    return f"{name} has a call in the snapshot: {message['calls'][0]['call_id']}"
                if message["type"] in ("call.ringing", "call.answered"):
                    return f"{name} got {message['type']} for call {message['call_id']}"

    watchers = [asyncio.create_task(watch(name)) for name in tokens]
    done, pending = await asyncio.wait(watchers, timeout=CALL_LIMIT, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()
    if not done:
        raise TimeoutError(f"no call reached a demo agent within {CALL_LIMIT} s")
    return done.pop().result()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="callassist-smoke-") as folder:
        clone = Path(folder) / "callassist"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        demo = Demo(clone, port)
        try:
            wait_for(demo, lambda: len(demo.agents) >= 2, "demo users printed", SETUP_LIMIT)
            wait_for(demo, lambda: readyz(url), "/readyz 200", READY_LIMIT)
            try:
                seen = asyncio.run(an_agent_sees_a_call(url, demo.agents))
            except (TimeoutError, httpx.HTTPError, websockets.WebSocketException) as error:
                demo.fail(str(error))
        finally:
            code = demo.stop()
        print(f"demo smoke check passed in {time.monotonic() - started:.0f} s: {seen}; "
              f"the demo stopped with exit status {code}")


if __name__ == "__main__":
    sys.exit(main())
