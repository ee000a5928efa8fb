"""The screen-pop benchmark's PBX: the AMI simulator and its call traffic, in a process of its
own so that playing thousands of events a second does not share a core with the consoles.

The calls are the simulator's own: the lab's recorded calls as templates, re-stamped with
fresh identities and the chosen agents, in the traffic mix, sent through ``AmiServer.emit``.
Only the arrival loop is ours: ``Traffic.run`` sleeps each gap from the moment it woke up,
so on a busy loop every late wake-up is lost for good and 50 calls/s come out near 42.
Here arrivals keep to an absolute schedule (a Poisson process on the loop clock).

The parent drives it over a pipe: it answers with its port, then takes "start" (arrivals
begin), "placed" (a ``Placed``) and "stop".
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from telephony.simulator import AmiServer
from telephony.simulator.roster import AgentRoster
from telephony.simulator.scenarios import ALL_BUSY, DEFAULT_MIX, load_template
from telephony.simulator.templates import CallTemplate, IdMint, StampedCall
from telephony.simulator.traffic import DEFAULT_CUSTOMERS

AMI_USER = "callassist"
AMI_SECRET = "screenpop-bench-secret"

log = logging.getLogger("screenpop.pbx")


class Arrivals:
    """Calls placed at ``calls_per_second`` on average, each played at its recorded pace
    (times ``speed``); an agent is on one call at a time, as in ``Traffic``."""

    def __init__(
        self, server: AmiServer, agents: list[str], calls_per_second: float, speed: float
    ) -> None:
        self.server = server
        self.placed = 0
        self.no_agent_free = 0  # of them, calls that waited in the queue and gave up
        self._rate = calls_per_second
        self._speed = speed
        self._rng = random.Random(4)
        self._roster = AgentRoster(agents)
        self._mint = IdMint()
        self._mix = dict(DEFAULT_MIX)
        self._templates = {name: load_template(name) for name in (*self._mix, ALL_BUSY)}
        self.playing: set[asyncio.Task[None]] = set()
        now = time.time()
        for agent in agents:
            server.contacts.register(agent, now=now)  # phones registered before the first call

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += self._rng.expovariate(self._rate)
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._place()

    async def close(self) -> None:
        for task in list(self.playing):
            task.cancel()
        await asyncio.gather(*self.playing, return_exceptions=True)

    def _place(self) -> None:
        template, agents = self._choose()
        call = template.stamp(
            customer=self._rng.choice(DEFAULT_CUSTOMERS),
            agents=agents,
            mint=self._mint,
            epoch=time.time(),
        )
        task = asyncio.create_task(self._play(call, agents))
        self.playing.add(task)
        task.add_done_callback(self._finished)
        self.placed += 1

    def _choose(self) -> tuple[CallTemplate, list[str]]:
        """Traffic's choice: a scenario from the mix with free agents for it; when too few
        are free, one that fits the free ones; with none free, the caller waits in the queue
        and gives up."""
        names = list(self._mix)
        name = self._rng.choices(names, weights=[self._mix[n] for n in names])[0]
        agents = self._roster.take(len(self._templates[name].agents), self._rng)
        if agents is not None:
            return self._templates[name], agents
        free = len(self._roster.free)
        fitting = [n for n in names if len(self._templates[n].agents) <= free]
        if free and fitting:
            name = self._rng.choices(fitting, weights=[self._mix[n] for n in fitting])[0]
            agents = self._roster.take(len(self._templates[name].agents), self._rng)
            if agents is not None:
                return self._templates[name], agents
        self.no_agent_free += 1
        return self._templates[ALL_BUSY], []

    async def _play(self, call: StampedCall, agents: list[str]) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for event in call.events:
                delay = start + event.offset / self._speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.server.emit(event.headers)
        finally:
            self._roster.release(agents)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.playing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a call failed to play", exc_info=task.exception())


def run(pipe: Connection, agents: list[str], calls_per_second: float, speed: float) -> None:
    """The child process's entry point (multiprocessing target)."""
    asyncio.run(_serve(pipe, agents, calls_per_second, speed))


async def _serve(
    pipe: Connection, agents: list[str], calls_per_second: float, speed: float
) -> None:
    server = AmiServer(username=AMI_USER, secret=AMI_SECRET)
    await server.start()
    arrivals = Arrivals(server, agents, calls_per_second, speed)
    pipe.send(server.port)
    loop = asyncio.get_running_loop()
    runner: asyncio.Task[None] | None = None
    try:
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command == "start":
                runner = asyncio.create_task(arrivals.run())
            elif command == "placed":
                pipe.send(
                    Placed(
                        arrivals.placed, arrivals.no_agent_free, len(arrivals.playing), time.time()
                    )
                )
            elif command == "stop":
                break
    finally:
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        await arrivals.close()
        await server.close()
        pipe.send("stopped")


def ami_url(port: int) -> str:
    return f"ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{port}"


@dataclass(frozen=True, slots=True)
class Placed:
    calls: int  # placed so far
    no_agent_free: int  # of them, calls every agent was too busy for
    playing: int  # calls in progress
    at: float  # the simulator's clock when asked


def placed(pipe: Connection) -> Placed:
    pipe.send("placed")
    answer: Placed = pipe.recv()
    return answer
