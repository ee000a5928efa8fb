"""The AMI simulator: a real TCP server speaking Asterisk 22's manager interface.

The integration-test peer of the AMI link and, later, the demo PBX. ``AmiServer`` is the
entry point; ``AmiSession`` is one client connection on it.
"""

from telephony.simulator.server import AmiServer, OriginateHook
from telephony.simulator.session import AmiSession

__all__ = ["AmiServer", "AmiSession", "OriginateHook"]
