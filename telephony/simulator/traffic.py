"""Call traffic for the simulator: real recorded calls, re-stamped, played side by side.

The demo PBX and the service's integration-test peer both need a PBX that is busy the way a
call centre is: calls arriving at random, several at once, each with its own customer and
agent, mostly answered, some queued, abandoned or dropped, the odd phone dropping off the
network. ``Traffic`` plays the lab's captures (``scenarios``) as that traffic, through the
server's ``emit``, so every client sees exactly the event sequences a real Asterisk 22 sent;
only identities and people change (``templates``). It also answers Originate with the
recorded callback (``originate``), so a service's callbacks ring through as real calls, or,
when a test queued an ``OriginateOutcome`` for the number, with the callback failing as told
(the agent not answering, the customer's line busy or down).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

from telephony.simulator.messages import header
from telephony.simulator.originate import ANSWERED, OriginateOutcome, originated_call
from telephony.simulator.roster import AgentRoster
from telephony.simulator.scenarios import (
    ALL_BUSY,
    DEFAULT_CAPTURES,
    DEFAULT_MIX,
    ORIGINATE,
    SCENARIOS,
    load_template,
)
from telephony.simulator.server import AmiServer
from telephony.simulator.staged import StagedCall
from telephony.simulator.templates import CallTemplate, IdMint, Party, StampedCall, check_endpoint

log = logging.getLogger(__name__)

# Callers with E.164 numbers, several with Chinese names: the UI, the database and the CSV
# export must all carry them unharmed.
DEFAULT_CUSTOMERS: tuple[Party, ...] = (
    ("+8613800138000", "张三"),
    ("+8613912345678", "李四"),
    ("+8618688886666", "王芳"),
    ("+85291234567", "陈大文"),
    ("+442079460958", "Oliver Smith"),
    ("+12025550143", "Maria Garcia"),
    ("+4915123456789", "Anna Schmidt"),
)


class Traffic:
    """Places calls on an ``AmiServer``; see the module docstring for why.

    ``calls_per_minute`` is the mean arrival rate in wall-clock time (arrivals are a Poisson
    process; 0: no random arrivals, only the calls placed or staged); ``speed`` plays each
    call faster (2.0 halves every gap) or, at 0, as fast as the clients take the events.
    ``rng`` decides scenarios, customers, agents and arrivals, so a seed gives the same
    traffic (identities are fresh on every run regardless).

    The agents' phones are registered on the server (reachable) when the traffic is made,
    as a centre's phones are before the first call: ``PJSIPShowContacts`` lists them.

    Time on the PBX's clock: each call starts at the wall-clock time it is placed and then
    runs on its recording's time, whatever ``speed`` plays it at. With the server's
    ``timestampevents`` on, every event carries that time in ``Timestamp`` (Asterisk's
    ``%ld.%06lu``), so a client that takes event times from it, as the live service does,
    measures the recorded ring, talk and hold times exactly, however late a busy machine
    sends the event. At any speed but 1 a call's clock runs ahead of the wall clock (by up to
    the call's recorded length), so the Timestamps of overlapping calls can interleave out of
    order on the wire; the demo plays at speed 1, where they follow the wall clock.
    """

    def __init__(
        self,
        server: AmiServer,
        *,
        agents: Sequence[str],
        customers: Sequence[Party] | None = None,
        rng: random.Random,
        mix: Mapping[str, float] | None = None,
        calls_per_minute: float = 10.0,
        speed: float = 1.0,
        captures: Path = DEFAULT_CAPTURES,
    ) -> None:
        for agent in agents:
            check_endpoint(agent)
        if customers is not None and not customers:
            raise ValueError("customers must not be empty (None: the default callers)")
        if calls_per_minute < 0:
            raise ValueError(f"calls_per_minute must be 0 or more, not {calls_per_minute}")
        if speed < 0:
            raise ValueError(f"speed must be 0 or more, not {speed}")
        self.server = server
        self.roster = AgentRoster(agents)
        self.customers = tuple(customers or DEFAULT_CUSTOMERS)
        self.mix = _checked_mix(mix if mix is not None else DEFAULT_MIX)
        self.calls_per_minute = calls_per_minute
        self.speed = speed
        self.placed = 0  # calls started, by run(), place() or an Originate
        # Customer number (an Originate's Exten) -> how the next Originates to it go, in
        # order; each Originate takes the first, and with none left it is answered.
        self.originate_outcomes: dict[str, list[OriginateOutcome]] = {}
        self._rng = rng
        self._captures = captures
        self._mint = IdMint()
        self._templates: dict[str, CallTemplate] = {}
        self._in_flight: set[asyncio.Task[Any]] = set()
        now = time.time()
        for agent in agents:
            if agent.startswith("PJSIP/"):
                server.contacts.register(agent, now=now)

    @property
    def in_flight(self) -> int:
        """Calls being played right now (run's, place's and Originate answers)."""
        return len(self._in_flight)

    async def run(self) -> None:
        """Place calls until cancelled. Cancelling stops new arrivals only: calls already
        going play to their end (``drain`` waits for them, ``close`` cuts them short).
        With ``calls_per_minute`` 0 it places nothing and waits to be cancelled."""
        if not self.calls_per_minute:
            await asyncio.get_running_loop().create_future()
        await self._load(*self.mix, ALL_BUSY)
        rate = self.calls_per_minute / 60.0
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            # Arrivals on absolute times: a late wake-up must not stretch every later gap.
            due += self._rng.expovariate(rate)
            await asyncio.sleep(max(0.0, due - loop.time()))
            template, agents = self._choose()
            customer = self._rng.choice(self.customers)
            self._start(self._play_reserved(template, customer, agents))

    async def place(
        self,
        scenario: str,
        *,
        customer: Party | None = None,
        agents: Sequence[str] | None = None,
    ) -> str:
        """Play one call of ``scenario`` now; its Linkedid (the call_id a tracker reports)
        once its last event was sent, or "" for a line event (no call). Without ``agents``
        free ones are taken, busy ones only when too few are free. Cancelling the caller
        does not cut the call short (a PBX does not hang up on it): ``drain`` waits for it,
        ``close`` cuts it."""
        template = await self._template(scenario)
        needed = len(template.agents)
        if agents is None:
            chosen = self.roster.take(needed, self._rng, allow_busy=True)
            if chosen is None:
                raise ValueError(f"{scenario} needs {needed} agent(s); the roster has fewer")
        else:
            chosen = list(agents)
            for agent in chosen:
                check_endpoint(agent)
            if len(chosen) != needed:
                raise ValueError(f"{scenario} needs {needed} agent(s), got {chosen}")
            self.roster.claim(chosen)
        who = customer or self._rng.choice(self.customers)
        task = self._start(self._play_reserved(template, who, chosen))
        return await asyncio.shield(task)

    def stage(
        self,
        scenario: str = "answered_customer_hangs_up",
        *,
        agent: str,
        customer: Party | None = None,
    ) -> StagedCall:
        """A call of ``scenario`` for ``agent`` that plays only when told: ``ring()``,
        ``answer()``, ``transfer_to(other)`` for a blind-transfer scenario, ``hang_up()``.

        Reads the scenario's capture here, on the event loop's thread (the stageable ones
        are small), so that a scenario no agent answers is refused at once.
        """
        if scenario not in SCENARIOS or scenario == ORIGINATE:
            playable = ", ".join(sorted(set(SCENARIOS) - {ORIGINATE}))
            raise ValueError(f"unknown scenario {scenario!r}; known: {playable}")
        if scenario not in self._templates:
            self._templates[scenario] = load_template(scenario, self._captures)
        return StagedCall(
            self.server,
            self.roster,
            self._templates[scenario],
            agent=agent,
            customer=customer or self._rng.choice(self.customers),
            mint=self._mint,
            speed=self.speed,
        )

    async def answer_originate(self, action: dict[str, str]) -> None:
        """Play the call an Originate places (suitable as ``AmiServer.on_originate``), as the
        next ``originate_outcomes`` entry for its Exten says."""
        outcome = self._next_outcome(header(action, "Exten"))  # before any await: in order
        template = await self._template(ORIGINATE)
        call = originated_call(template, action, self._mint, time.time(), outcome)
        agents = list(call.agents.values())
        self.roster.claim(agents)
        self.placed += 1
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._play(call)
        finally:
            self.roster.release(agents)
            if task is not None:
                self._in_flight.discard(task)

    def _next_outcome(self, exten: str) -> OriginateOutcome:
        queued = self.originate_outcomes.get(exten)
        return queued.pop(0) if queued else ANSWERED

    async def drain(self) -> None:
        """Until every call in flight has played to its end."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def close(self) -> None:
        """Cut every call in flight short (their channels stay in the live list)."""
        for task in list(self._in_flight):
            task.cancel()
        await self.drain()

    # -- choosing and playing -------------------------------------------------------------

    def _choose(self) -> tuple[CallTemplate, list[str]]:
        """A scenario from the mix and free agents for it. When too few agents are free the
        caller gets a scenario that fits the free ones; with none free, the queue, where
        nobody answers and the caller gives up. A line event holds its agent too: a phone
        that has dropped off the network takes no calls."""
        names = list(self.mix)
        name = self._rng.choices(names, weights=[self.mix[n] for n in names])[0]
        agents = self.roster.take(len(self._templates[name].agents), self._rng)
        if agents is not None:
            return self._templates[name], agents
        free = len(self.roster.free)
        fitting = [n for n in names if len(self._templates[n].agents) <= free]
        if free and fitting:
            name = self._rng.choices(fitting, weights=[self.mix[n] for n in fitting])[0]
            agents = self.roster.take(len(self._templates[name].agents), self._rng)
            if agents is not None:
                return self._templates[name], agents
        return self._templates[ALL_BUSY], []

    def _start(self, play: Coroutine[Any, Any, str]) -> asyncio.Task[str]:
        task = asyncio.create_task(play)
        self._in_flight.add(task)
        task.add_done_callback(self._finished)
        self.placed += 1
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI simulator: a call failed to play", exc_info=task.exception())

    async def _play_reserved(
        self, template: CallTemplate, customer: Party, agents: list[str]
    ) -> str:
        """Play a call whose agents are already claimed; they are released at its end."""
        try:
            call = template.stamp(
                customer=customer, agents=agents, mint=self._mint, epoch=time.time()
            )
            await self._play(call)
            return call.call_id or ""
        finally:
            self.roster.release(agents)

    async def _play(self, call: StampedCall) -> None:
        """Send the call's events at ``speed``; with the server's ``timestampevents`` on, each
        carries its time on the call's own clock, not the moment it went out."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        stamped = self.server.timestampevents
        for event in call.events:
            if self.speed:
                delay = start + event.offset / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.server.emit(
                event.headers, timestamp=call.time_of(event) if stamped else None
            )

    async def _template(self, name: str) -> CallTemplate:
        await self._load(name)
        return self._templates[name]

    async def _load(self, *names: str) -> None:
        """Read the captures not read yet, off the event loop (the burst is 860 KB)."""
        missing = [name for name in names if name not in self._templates]
        if not missing:
            return
        loaded = await asyncio.to_thread(
            lambda: {name: load_template(name, self._captures) for name in missing}
        )
        self._templates.update(loaded)


def _checked_mix(mix: Mapping[str, float]) -> dict[str, float]:
    unknown = [name for name in mix if name not in SCENARIOS or name == ORIGINATE]
    if unknown:
        playable = sorted(set(SCENARIOS) - {ORIGINATE})
        raise ValueError(f"unknown scenario(s) {unknown}; known: {', '.join(playable)}")
    if any(weight < 0 for weight in mix.values()) or not sum(mix.values()) > 0:
        raise ValueError(f"mix weights must be 0 or more with a positive sum: {dict(mix)}")
    return {name: float(weight) for name, weight in mix.items() if weight > 0}
