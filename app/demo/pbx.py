"""The demo PBX: the AMI simulator on loopback with steady call traffic and demo users.

`callassist demo` attaches to it with the same AMI link it uses against Asterisk, so a
newcomer sees the real code path work with no PBX and no network beyond loopback.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass

from app.auth.store import Role, UserError, add_user, find_user, set_password
from app.db.engine import Session
from telephony.ami.link import LinkConfig
from telephony.calls.trunks import TrunkPlan
from telephony.simulator.server import AmiServer
from telephony.simulator.traffic import Traffic

DEMO_TRUNKS = "PJSIP/2001"  # the captures' trunk, which the simulator's calls come in on
DEMO_TRUNK_CONTACT = "sip:2001@127.0.0.1:5090"  # its static contact in the first lab
FIRST_SCENARIO = "answered_customer_hangs_up"


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    role: Role
    display_name: str
    endpoint: str | None = None
    position: str | None = None


DEMO_USERS = (
    DemoUser("agent1", Role.AGENT, "Agent One", "PJSIP/1001", "customer service agent"),
    # A position is said in the greeting, in the agent's own language.
    DemoUser("agent2", Role.AGENT, "Agent Two", "PJSIP/1002", "客服专员"),
    DemoUser("qa", Role.QA, "Quinn QA"),
    DemoUser("it", Role.IT, "Ivy IT"),
    DemoUser("supervisor", Role.SUPERVISOR, "Sam Supervisor"),
    DemoUser("admin", Role.ADMIN, "Ada Admin"),
)
AGENT_ENDPOINTS = tuple(u.endpoint for u in DEMO_USERS if u.endpoint)


def ensure_demo_users(session: Session) -> dict[str, str]:
    """Create the demo users, or give them fresh passwords; returns username -> password."""
    passwords: dict[str, str] = {}
    for demo in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        existing = find_user(session, demo.username)
        if existing is None:
            add_user(
                session,
                demo.username,
                demo.role,
                password,
                endpoint=demo.endpoint,
                display_name=demo.display_name,
                position=demo.position,
            )
        elif existing.role != demo.role.value or existing.endpoint != demo.endpoint:
            raise UserError(f"user {demo.username!r} exists with another role or endpoint")
        else:
            set_password(session, existing, password)
        passwords[demo.username] = password
    return passwords


class DemoPbx:
    def __init__(
        self, trunks: TrunkPlan, *, calls_per_minute: float = 6.0, seed: int | None = None
    ) -> None:
        self._username = "callassist-demo"
        self._secret = secrets.token_urlsafe(24)
        self.server = AmiServer(username=self._username, secret=self._secret, host="127.0.0.1")
        self.traffic = Traffic(
            self.server,
            agents=AGENT_ENDPOINTS,
            rng=random.Random(seed),
            calls_per_minute=calls_per_minute,
        )
        self.server.on_originate = self.traffic.answer_originate
        # The trunk is there from the start, answering qualify, as a carrier's usually is.
        self.server.contacts.add_static(DEMO_TRUNKS, DEMO_TRUNK_CONTACT, aor="2001")
        self.trunks = trunks

    async def start(self) -> LinkConfig:
        await self.server.start()
        return LinkConfig(
            host="127.0.0.1", port=self.server.port, username=self._username, secret=self._secret
        )

    async def run_traffic(self) -> None:
        """Steady traffic once the service is attached; the first call comes at once, so a
        newcomer who just logged in does not wait for the random arrivals."""
        await self.server.wait_logged_in(timeout=60)
        if self.traffic.calls_per_minute == 0:
            return  # calls come only when a test stages them
        first = asyncio.create_task(self.traffic.place(FIRST_SCENARIO))
        await self.traffic.run()
        await first

    async def stop(self) -> None:
        await self.traffic.close()  # calls in flight must not outlive the server
        await self.server.close()
