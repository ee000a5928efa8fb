"""The AMI simulator: a real TCP server speaking Asterisk 22's manager interface.

The integration-test peer of the AMI link and the demo PBX. ``AmiServer`` is the entry
point; ``AmiSession`` is one client connection on it; ``Traffic`` plays the lab's recorded
calls on it as a busy centre's traffic and answers Originate with a recorded callback.
"""

from telephony.simulator.server import AmiServer, OriginateHook
from telephony.simulator.session import AmiSession
from telephony.simulator.traffic import Traffic

__all__ = ["AmiServer", "AmiSession", "OriginateHook", "Traffic"]
