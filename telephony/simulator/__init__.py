"""The AMI simulator: a real TCP server speaking Asterisk 22's manager interface.

The integration-test peer of the AMI link and the demo PBX. ``AmiServer`` is the entry
point; ``AmiSession`` is one client connection on it; ``Traffic`` plays the lab's recorded
calls on it as a busy centre's traffic and answers Originate with a recorded callback (or,
as ``Traffic.originate_outcomes`` says, with one the agent or the customer does not answer);
``Traffic.stage`` gives a ``StagedCall`` that rings, is answered and ends only when told.
The server also keeps the agents' PJSIP contacts (``set_contact``, ``PJSIPShowContacts``)
and a trunk's static contact (``contacts.add_static``, ``PJSIPShowEndpoint(s)``).
"""

from telephony.simulator.originate import OriginateOutcome
from telephony.simulator.server import AmiServer, OriginateHook
from telephony.simulator.session import AmiSession
from telephony.simulator.staged import StagedCall, StagedCallError
from telephony.simulator.traffic import Traffic

__all__ = [
    "AmiServer",
    "AmiSession",
    "OriginateHook",
    "OriginateOutcome",
    "StagedCall",
    "StagedCallError",
    "Traffic",
]
