"""panoramisk's AMI protocol, reading bytes into whole messages and never running handlers.

It keeps panoramisk's Action bookkeeping (ActionIDs, multi-message answers such as event
lists) and turns what an action got back into a plain Reply (replies.py) before it leaves.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from telephony.ami.errors import ActionInterrupted
from telephony.ami.replies import Reply
from telephony.ami.wire import AmiDecoder, AmiMessage, EventSieve

if TYPE_CHECKING:
    from telephony.ami.link import AmiLink

log = logging.getLogger("callassist.ami")


class AmiProtocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol, reading bytes into whole messages and never running handlers."""

    # Set by panoramisk's connection_made; declared for the type checker.
    responses: dict[str, Any]
    closed: bool
    version: str | None
    transport: asyncio.Transport

    def __init__(self, link: AmiLink) -> None:
        super().__init__()
        self.link = link
        self.lost: asyncio.Future[str] = link.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = self.link
        self.log = log
        self.encoding = "utf-8"
        settings = self.link.settings
        sieve = EventSieve(settings.events, settings.variables)
        self.decoder = AmiDecoder(max_frame=settings.max_frame, sieve=sieve)

    def data_received(self, data: bytes) -> None:
        decoder, state = self.decoder, self.link.state
        counts_before = decoder.messages, decoder.malformed, decoder.sieved
        messages = decoder.feed(data)
        if self.version is None and decoder.banner is not None:
            self.version = state.banner = decoder.banner
        state.messages_received += decoder.messages - counts_before[0]
        state.malformed_skipped += decoder.malformed - counts_before[1]
        state.events_ignored += decoder.sieved - counts_before[2]
        for _, headers in messages:
            self.link.received(self, headers)

    def send(self, data: Any, as_list: bool | None = False) -> asyncio.Future[Any]:
        """Like panoramisk's, minus its log line that could print a Login's secret."""
        action = data if isinstance(data, Action) else Action(data, as_list=as_list)
        action.as_list = as_list
        self.responses[action.id] = action
        self.transport.write(str(action).encode("utf-8"))
        future: asyncio.Future[Any] = action.future
        future.add_done_callback(_seen)
        return future

    def complete(self, headers: AmiMessage) -> Action | None:
        """Hand a response to the action waiting for it; the action, if one was waiting."""
        action = self.responses.get(headers.get("ActionID", ""))
        if action is None:
            return None
        self.handle_message(_Answer(headers))
        return action

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()
        if not self.lost.done():
            self.lost.set_result(str(exc) if exc else "connection closed by the PBX")

    def close(self) -> None:
        """Fail the actions in flight instead of queueing them to be sent again."""
        pending, self.responses = self.responses, {}
        for action in {id(a): a for a in pending.values()}.values():
            if not action.future.done():
                name = action.get("Action", "action")
                action.future.set_exception(
                    ActionInterrupted(f"the AMI link dropped before {name} was answered")
                )
        if not self.closed:
            self.closed = True
            self.transport.close()


def _seen(future: asyncio.Future[Any]) -> None:
    """Mark an action's outcome as retrieved. Its caller may be gone by the time the link
    fails it (the service stopping cancels the task that asked PJSIPShowContacts, then
    closes the link): asyncio would then log "Future exception was never retrieved" for an
    ActionInterrupted nobody is left to hear. A caller still waiting gets it all the same."""
    if not future.cancelled():
        future.exception()


class _Answer(Message):  # type: ignore[misc]
    """panoramisk's Message, for its Action's bookkeeping, holding the headers as decoded."""

    def __init__(self, headers: AmiMessage) -> None:
        super().__init__(headers)
        self.decoded = headers


def reply_of(answer: Any) -> Reply:
    """What panoramisk resolved an action with (one message, or a list of them) as a Reply."""
    messages = answer if isinstance(answer, list) else [answer]
    return Reply.of(message.decoded for message in messages)
