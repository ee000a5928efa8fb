"""The PBX's answer to an action, as plain data: what ``AmiLink.send`` returns, so nothing
outside telephony.ami ever holds a panoramisk object."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Asterisk's answers that mean "done as asked": Follows carries a command's output.
_SUCCESSFUL = frozenset({"Success", "Follows", "Goodbye"})


@dataclass(frozen=True, slots=True)
class Reply:
    """One action's answer: its response message, then any event list that followed it.

    ``events`` holds an event list's items and its closing ``...Complete`` event, in the order
    the PBX sent them; it is empty when the answer was one message.
    """

    response: str  # Success, Error, Follows, Goodbye; "" when the answer had no Response
    message: str  # the Message header; "" when absent
    headers: Mapping[str, str]  # every header of the response message
    events: tuple[Mapping[str, str], ...] = ()

    @classmethod
    def of(cls, messages: Iterable[Mapping[str, str]]) -> Reply:
        """The answer from its messages as the link decoded them, the response first."""
        first, *rest = [dict(message) for message in messages] or [{}]
        return cls(
            response=first.get("Response", ""),
            message=first.get("Message", ""),
            headers=first,
            events=tuple(rest),
        )

    @property
    def success(self) -> bool:
        return self.response in _SUCCESSFUL

    @property
    def messages(self) -> tuple[Mapping[str, str], ...]:
        """The whole answer as the PBX sent it: the response's headers, then the events."""
        return (self.headers, *self.events)
