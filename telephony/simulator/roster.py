"""Which agents are free: so that simulated traffic never rings an agent already on a call.

A real centre's queue skips members in use and a direct call to a busy phone is the
exception; traffic that put one agent on two calls at once would show the service states no
agent can be in. Counts, not flags: an explicit ``place`` or an Originate may knowingly
double-book an agent, and releasing one of the calls must not free the other.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence


class AgentRoster:
    def __init__(self, agents: Sequence[str]) -> None:
        if len(set(agents)) != len(agents):
            raise ValueError(f"agents must be distinct: {list(agents)}")
        self.agents = tuple(agents)
        self._calls: Counter[str] = Counter()

    @property
    def free(self) -> list[str]:
        return [agent for agent in self.agents if not self._calls[agent]]

    @property
    def busy(self) -> set[str]:
        return {agent for agent, calls in self._calls.items() if calls}

    def take(self, count: int, rng: random.Random, *, allow_busy: bool = False) -> list[str] | None:
        """``count`` distinct agents, now marked busy, chosen at random among the free ones;
        None if too few are free (unless ``allow_busy``: then busy ones fill the gap)."""
        free = self.free
        if len(free) >= count:
            chosen = rng.sample(free, count)
        elif allow_busy and len(self.agents) >= count:
            busy = [agent for agent in self.agents if agent not in free]
            chosen = free + rng.sample(busy, count - len(free))
        else:
            return None
        self.claim(chosen)
        return chosen

    def claim(self, agents: Iterable[str]) -> None:
        self._calls.update(agents)

    def release(self, agents: Iterable[str]) -> None:
        self._calls.subtract(agents)
        for agent in [a for a, calls in self._calls.items() if calls <= 0]:
            del self._calls[agent]
