"""The AMI link of a service with no PBX configured (no CALLASSIST_AMI_URL).

The service still runs (QA review, the boards, the console's history); every part is built
as usual and simply hears nothing: this link never connects and refuses every action, so no
part needs a "maybe there is no link" branch of its own.
"""

from __future__ import annotations

import asyncio

from telephony.ami.actions import ActionHeaders
from telephony.ami.link import AmiLink, LinkDown, LinkItem, LinkState
from telephony.ami.replies import Reply

NOT_CONFIGURED = "no PBX is configured (CALLASSIST_AMI_URL)"


class NoPbx:
    def __init__(self) -> None:
        self.state = LinkState()
        self.queue: asyncio.Queue[LinkItem] = asyncio.Queue()  # always empty

    def start(self) -> None:
        """Nothing to connect to."""

    def close(self) -> None:
        """Nothing to close."""

    async def wait_closed(self) -> None:
        """Nothing to wait for."""

    async def get(self) -> LinkItem:
        return await self.queue.get()  # never: nothing is ever queued

    def snapshot(self) -> LinkState:
        return self.state

    async def send(
        self, action: ActionHeaders, *, answer_within: float = 10.0, as_list: bool | None = None
    ) -> Reply:
        raise LinkDown(f"{NOT_CONFIGURED}: {action.get('Action')} not sent")


PbxLink = AmiLink | NoPbx


def pbx_configured(link: PbxLink) -> bool:
    return not isinstance(link, NoPbx)
