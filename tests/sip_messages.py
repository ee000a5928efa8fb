"""What the line probe's SIP tests share: its credentials, and the un-REGISTER pyVoIP writes
for it."""

from __future__ import annotations

from telephony.sip import Credentials

PROBE = Credentials("callassist-probe", "Probe-Secret-9f3k")
UNREGISTER = (
    "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-first;rport\r\n"
    'From: "callassist-probe" <sip:callassist-probe@127.0.0.1>;tag=r1\r\n'
    'To: "callassist-probe" <sip:callassist-probe@127.0.0.1>\r\n'
    "Call-ID: 77@127.0.0.1:5070\r\n"
    "CSeq: 3 REGISTER\r\n"
    "Contact: <sip:callassist-probe@127.0.0.1:5070;transport=UDP>\r\n"
    "Expires: 0\r\n"
    "Content-Length: 0\r\n\r\n"
)
