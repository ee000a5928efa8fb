"""The line probe: register a test account on the PBX and place a short call to the probe
extension, timing both. The only importer of pyVoIP (GPL-3.0); what it is asked and what it
reports are plain data in probe_model.py, the SIP requests it writes itself are in sip.py.

pyVoIP 1.6.8 is blocking and threaded, and this adapter absorbs its traps (read its source):
- ``VoIPPhone.call`` waits for a 100/180 in a ``recv`` with no timeout while holding the
  socket's lock: a PBX that never answers the INVITE would hold the caller, and block the
  de-registration, for ever. The call is placed from a worker thread; past the deadline the
  adapter CANCELs the INVITE and wakes that ``recv`` with a datagram to its own socket.
- Final responses other than 200, 404 and 503 (486 Busy, 403, 480, 603 ...) are ignored:
  the call would stay DIALING for ever. The adapter sees every response first
  (``parse_message``), ends the attempt on a final one and ACKs it as RFC 3261 asks (else the
  PBX retransmits it for 32 s). It also keeps 404/503 from pyVoIP, whose handlers reset the
  process's warning filters.
- Its ACK for the 200 OK carries a To tag of its own making (``gen_ack``), so Asterisk takes
  it for no ACK and retransmits the 200; a retransmitted 200 is not ACKed at all. The adapter
  writes that ACK (sip.py) and sends it again for every retransmission.
- Its de-registration takes the first datagram that arrives for the answer to its
  un-REGISTER: on a real PBX, the 200 for the call's BYE or a retransmitted 200 for its
  INVITE. The 401 that follows was never answered, and the probe's contact stayed on the PBX
  until it expired (issue 13). The adapter de-registers itself (``deregister``, with
  sip_transaction.py): it waits for the answer to its own request, answers a 401/407 with
  digest credentials, resends on UDP's timer and gives up after STOP_SECONDS.
- A failed registration is retried from background timers; a probe reports the first
  failure (``REGISTER_FAILURE_THRESHOLD = 1``), and reads why from the REGISTER responses.
- Call-IDs come from a counter that starts at 1 in every phone, so two probes in a row would
  send the same Call-IDs; the counter starts at a random number instead.
- It prints to stdout (``pyVoIP.debug``); that goes to our logger.
- It never answers SIP OPTIONS: the PBX must not qualify the probe's contact
  (telephony/asterisk/pjsip_probe.conf ships it with qualify off).
Whatever happens, the phone is stopped (de-registered when possible), its sockets closed and
its threads ended before ``run_probe`` returns; ``probe`` adds an outer deadline on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

with warnings.catch_warnings():
    # pyVoIP imports audioop, deprecated since Python 3.11 (audioop-lts from 3.13 on).
    warnings.simplefilter("ignore", DeprecationWarning)
    # pyVoIP.VoIP first: importing pyVoIP.SIP first is a circular import.
    from pyVoIP.VoIP import CallState, PhoneStatus, VoIPCall, VoIPPhone  # isort: skip
    from pyVoIP.VoIP import VoIP as pyvoip_voip  # isort: skip
    import pyVoIP
    from pyVoIP import RTP as pyvoip_rtp
    from pyVoIP import SIP as pyvoip_sip

from telephony.probe_model import (
    ANSWERED,
    BUSY,
    STOP_SECONDS,
    TIMEOUT,
    ProbeConfig,
    ProbeResult,
)
from telephony.sip import Credentials, ack_for, ack_for_answer, cancel_for, read_head, status_of
from telephony.sip_transaction import Udp, new_branch, unregister

__all__ = ["ANSWERED", "BUSY", "TIMEOUT", "ProbeConfig", "ProbeResult", "probe", "run_probe"]

log = logging.getLogger("callassist.probe")

T = TypeVar("T")

_BUSY_CODES = {486, 600}
_RECEIVER_DELAY = 1.05  # pyVoIP starts reading responses 1 s after the registration
_PYVOIP_THREADS = ("SIP Recieve", "SIP Register", "RTP Receiver", "RTP Transmitter", "Phone Call")
_WAKE = b"callassist-probe: wake up\r\n\r\n"  # not SIP: pyVoIP's blocked recv raises on it


def run_probe(config: ProbeConfig) -> ProbeResult:
    """Register, call the probe extension, hang up, de-register. Blocks for at most about
    ``config.budget`` seconds and never raises: a probe reports."""
    _tame_pyvoip()
    try:
        attempt = _Attempt(config)
    except Exception as error:  # pyVoIP raises bare Exceptions on bad arguments
        return ProbeResult(False, False, None, None, f"error: {error}")
    try:
        return attempt.run()
    except Exception as error:
        log.exception("line probe failed unexpectedly")
        return attempt.result(False, f"error: {error}")
    finally:
        attempt.close()


async def probe(config: ProbeConfig, deadline: float | None = None) -> ProbeResult:
    """``run_probe`` on a thread of its own (never the event loop, never the shared executor
    a wedged probe could starve), under an outer deadline (default ``config.budget``)."""
    outer = config.budget if deadline is None else deadline
    loop = asyncio.get_running_loop()
    done: asyncio.Future[ProbeResult] = loop.create_future()

    def work() -> None:
        result = run_probe(config)
        with contextlib.suppress(RuntimeError):  # the loop closed while we ran
            loop.call_soon_threadsafe(_settle, done, result)

    threading.Thread(target=work, name="line-probe", daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(done), outer)
    except TimeoutError:
        return ProbeResult(False, False, None, None, TIMEOUT, f"the probe took over {outer:g} s")


def _settle(future: asyncio.Future[ProbeResult], result: ProbeResult) -> None:
    if not future.done():
        future.set_result(result)


def _tame_pyvoip() -> None:
    """Process-wide pyVoIP settings; this module is pyVoIP's only user, so they are ours."""
    pyVoIP.REGISTER_FAILURE_THRESHOLD = 1
    for module in (pyvoip_sip, pyvoip_rtp, pyvoip_voip):
        module.debug = _debug  # type: ignore[attr-defined]


def _debug(message: object, error: object = None) -> None:
    log.debug("pyVoIP: %s", message if error is None else error)


class _Worker:
    """One blocking pyVoIP call on a daemon thread, so the caller can stop waiting."""

    def __init__(self, name: str, target: Callable[[], T]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self._target = target
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.value = self._target()
        except BaseException as error:
            self.error = error

    def wait(self, seconds: float) -> bool:
        self._thread.join(max(0.0, seconds))
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


class _Attempt:
    """One probe: a phone, what the PBX answered, and the times."""

    def __init__(self, config: ProbeConfig) -> None:
        self.config = config
        self.threads_before = set(threading.enumerate())
        low, high = config.rtp_ports
        self.phone = VoIPPhone(
            config.server,
            config.port,
            config.username,
            config.password,
            myIP=config.local_ip,
            sipPort=config.local_port,
            rtpPortLow=low,
            rtpPortHigh=high,
        )
        self.sip = self.phone.sip
        # pyVoIP's own wait for each REGISTER answer (30 s); typed int, used by select().
        self.sip.register_timeout = config.timeout  # type: ignore[assignment]
        self.sip.callID = pyvoip_sip.Counter(secrets.randbelow(1 << 40) + 1)
        self.registered = False
        self.registration_seconds: float | None = None
        self.call_setup_seconds: float | None = None
        self.register_responses: list[tuple[int, str]] = []
        self.register_error: BaseException | None = None
        self.invite: str | None = None  # the last INVITE sent, for a CANCEL
        self.invite_sent_at: float | None = None
        self.ringing = False
        self.answered_at: float | None = None
        self.final: tuple[int, str] | None = None  # a final non-2xx answer to the INVITE
        self.answer_ack: str | None = None  # the ACK for the 200, sent again for each copy
        self.settled = threading.Event()  # the INVITE got its final answer
        self.call: VoIPCall | None = None
        self.register_worker: _Worker | None = None
        self.call_worker: _Worker | None = None
        self._hook()

    # -- the hooks into pyVoIP (instance attributes, so only this phone is affected) --

    def _hook(self) -> None:
        sip: Any = self.sip
        parse_message = sip.parse_message
        trying_timeout_check = sip.trying_timeout_check
        register = sip._SIPClient__register
        gen_invite = sip.gen_invite
        gen_ack = sip.gen_ack

        def watch(message: pyvoip_sip.SIPMessage) -> None:
            if self._observe(message):
                parse_message(message)

        def register_response(message: pyvoip_sip.SIPMessage) -> pyvoip_sip.SIPMessage:
            response: pyvoip_sip.SIPMessage = trying_timeout_check(message)
            if not self.registered:
                self.register_responses.append(_status(response))
            return response

        def register_once() -> bool:
            try:
                return bool(register())
            except BaseException as error:
                if not self.registered:
                    self.register_error = error
                raise

        def remember_invite(*args: Any) -> str:
            self.invite = str(gen_invite(*args))
            return self.invite

        def ack(response: pyvoip_sip.SIPMessage) -> str:
            return self._ack_text(response) or str(gen_ack(response))

        sip.parse_message = watch
        sip.trying_timeout_check = register_response
        sip._SIPClient__register = register_once
        sip.gen_invite = remember_invite
        sip.gen_ack = ack
        sip.deregister = self._unregister

    def _observe(self, message: pyvoip_sip.SIPMessage) -> bool:
        """Note what the PBX answered; False keeps the message from pyVoIP."""
        if message.type != pyvoip_sip.SIPMessageType.RESPONSE:
            return True
        method = message.headers.get("CSeq", {}).get("method")
        code, _ = _status(message)
        if method == "CANCEL":
            return False  # pyVoIP would take its 200 for the answer to the INVITE
        if method != "INVITE":
            return True
        if code in {180, 183}:
            self.ringing = True
        elif 200 <= code < 300:
            if self.answered_at is not None:  # a retransmission
                if message.headers.get("Call-ID") in self.phone.calls:
                    return True  # pyVoIP missed the first copy (its call was not yet listed)
                self._ack(message)  # pyVoIP would not ACK it
                return False
            self.answered_at = time.monotonic()
            self.settled.set()
        elif code >= 300:
            self._ack(message)
            if self.final is None:
                self.final = _status(message)
            self.settled.set()
            return False
        return True

    # -- the probe --

    def run(self) -> ProbeResult:
        if not self._register():
            return self.result(False, *self._registration_failure())
        return self._place_call()

    def _register(self) -> bool:
        started = time.monotonic()
        worker = self.register_worker = _Worker("line-probe-register", self.phone.start)
        finished = worker.wait(self.config.timeout)
        if finished and worker.error is not None:
            self.register_error = worker.error
        if self.phone.get_status() != PhoneStatus.REGISTERED:
            return False
        self.registered = True
        self.registration_seconds = time.monotonic() - started
        # Until its receive loop runs, the 180 and 200 would wait in the socket and the
        # call set-up time would measure pyVoIP, not the PBX.
        time.sleep(max(0.0, started + _RECEIVER_DELAY - time.monotonic()))
        return True

    def _registration_failure(self) -> tuple[str, str | None]:
        error = self.register_error
        final = next((s for s in reversed(self.register_responses) if s[0] >= 300), None)
        where = f"{self.config.server}:{self.config.port}"
        if final is not None and final[0] != 401:
            return f"registration failed: {final[0]}", f"{final[0]} {final[1]} from {where}"
        if final is not None:
            return "registration failed: 401", f"{where} refused the username or password"
        if isinstance(error, OSError) and not isinstance(error, TimeoutError):
            bind = f"{self.config.local_ip}:{self.config.local_port}"
            return f"error: {error.strerror or error}", f"probe address {bind}, PBX {where}"
        return TIMEOUT, f"no answer to REGISTER from {where} in {self.config.timeout:g} s"

    def _place_call(self) -> ProbeResult:
        self.invite_sent_at = time.monotonic()
        deadline = self.invite_sent_at + self.config.timeout
        self.call_worker = _Worker(
            "line-probe-call", lambda: self.phone.call(self.config.extension)
        )
        worker = self.call_worker
        while not self.settled.wait(0.02):
            if time.monotonic() >= deadline or (not worker.running and worker.error is not None):
                break
        if self.answered_at is not None:
            self.call_setup_seconds = self.answered_at - self.invite_sent_at
            return self._hold(max(deadline, time.monotonic() + 1.0))
        if self.final is not None:
            code, phrase = self.final
            result = BUSY if code in _BUSY_CODES else f"call failed: {code}"
            return self.result(False, result, f"{code} {phrase}")
        if not worker.running and worker.error is not None:
            return self.result(False, f"error: {worker.error}")
        what = "it rang" if self.ringing else "no response to the INVITE"
        return self.result(False, f"no answer in {self.config.timeout:g} s", what)

    def _hold(self, deadline: float) -> ProbeResult:
        """Keep the answered call up briefly: pyVoIP must see the 200 to ACK it."""
        call = self._wait_for_call(deadline)
        if call is None or call.state != CallState.ANSWERED:
            return self.result(
                False, "error: the call was answered but the SIP library did not confirm it"
            )
        until = time.monotonic() + self.config.hold_seconds
        while time.monotonic() < until and call.state == CallState.ANSWERED:
            time.sleep(0.02)
        return self.result(True, ANSWERED)

    def _wait_for_call(self, deadline: float) -> VoIPCall | None:
        worker = self.call_worker
        assert worker is not None
        worker.wait(deadline - time.monotonic())
        call = worker.value if isinstance(worker.value, VoIPCall) else None
        self.call = call
        while call is not None and call.state == CallState.DIALING:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        return call

    def result(self, ok: bool, result: str, detail: str | None = None) -> ProbeResult:
        return ProbeResult(
            ok,
            self.registered,
            self.registration_seconds,
            self.call_setup_seconds,
            result,
            detail,
        )

    # -- clean-up: whatever happened, no thread, socket or dialog is left behind --

    def close(self) -> None:
        if self.register_worker is not None and self.register_worker.running:
            self._shut_socket()  # it waits in select() for a REGISTER answer
            self.register_worker.wait(1.0)
        self._end_call()
        stopper = _Worker("line-probe-stop", self.phone.stop)
        if not stopper.wait(2 * STOP_SECONDS + 1):
            log.warning("line probe: the phone did not stop in time; closing its socket")
            self._shut_socket()
            stopper.wait(1.0)
        if self.sip.registerThread is not None:
            self.sip.registerThread.cancel()
        self._shut_socket()
        self._reap(deadline=time.monotonic() + 1.0)

    def _reap(self, deadline: float) -> None:
        """End the threads pyVoIP started for this phone: timers not yet fired are cancelled,
        loops already stopped are waited for."""
        for thread in threading.enumerate():
            if thread in self.threads_before or not thread.name.startswith(_PYVOIP_THREADS):
                continue
            if isinstance(thread, threading.Timer):
                thread.cancel()
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("line probe: pyVoIP thread %r still running", thread.name)

    def _end_call(self) -> None:
        worker = self.call_worker
        if worker is None:
            return
        if worker.running:  # pyVoIP is still in its INVITE recv, holding the socket's lock
            self._cancel()
            self._wake()
            if not worker.wait(1.0):
                self._shut_socket()
                worker.wait(1.0)
        call = worker.value if isinstance(worker.value, VoIPCall) else None
        if call is None:
            return
        if call.state == CallState.ANSWERED:
            # Stop the RTP sender first: one packet sent on a socket hangup() just closed
            # would be a RuntimeWarning from pyVoIP's thread.
            for client in call.RTPClients:
                client.NSD = False
            time.sleep(0.03)  # its loop sends every 20 ms
            with contextlib.suppress(Exception):
                call.hangup()
        elif call.state == CallState.DIALING and self.final is None:
            self._cancel()
            self.settled.clear()
            self.settled.wait(1.0)  # the 487 comes back and is ACKed
        for client in call.RTPClients:
            with contextlib.suppress(Exception):
                client.stop()

    def _cancel(self) -> None:
        """CANCEL the INVITE still pending, so the PBX stops ringing the extension."""
        if self.invite is None or self.final is not None or self.answered_at is not None:
            return
        cancel = cancel_for(self.invite)
        if cancel is not None:
            self._send(cancel)

    def _ack(self, response: pyvoip_sip.SIPMessage) -> None:
        ack = self._ack_text(response)
        if ack is not None:
            self._send(ack)

    def _ack_text(self, response: pyvoip_sip.SIPMessage) -> str | None:
        """The ACK for a final answer to the INVITE; the one for the 200 is kept and sent
        again for each retransmission of the 200 (RFC 3261 13.2.2.4)."""
        raw = response.raw.decode("utf8", "replace")
        if not 200 <= int(response.status) < 300:
            return ack_for(raw, f"sip:{self.config.extension}@{self.config.server}")
        if self.answer_ack is None:
            self.answer_ack = ack_for_answer(raw, new_branch())
        return self.answer_ack

    # -- de-registration, instead of pyVoIP's --

    def _unregister(self) -> bool:
        """Un-REGISTER, answering a 401/407 with digest credentials, within STOP_SECONDS:
        what pyVoIP's ``stop`` calls as ``deregister`` (sip_transaction.py does the work)."""
        request = str(self.sip.gen_first_response(deregister=True))
        udp = Udp(self.sip.s, self._send, self._stray)
        credentials = Credentials(self.config.username, self.config.password)
        with self.sip.recvLock:  # the receive loop has ended, or ends after this datagram
            status = unregister(udp, request, credentials, time.monotonic() + STOP_SECONDS)
        if status is None:
            log.warning("line probe: no answer to the de-registration in %g s", STOP_SECONDS)
        elif not 200 <= status < 300:
            log.warning("line probe: the PBX refused the de-registration: %s", status)
        return status is not None and 200 <= status < 300

    def _stray(self, raw: str) -> None:
        """A message that is not the answer the de-registration waits for: a retransmitted
        200 for the INVITE is ACKed again; anything else is too late to matter."""
        cseq = read_head(raw)[1].get("cseq", "")
        if self.answer_ack is not None and status_of(raw) == 200 and cseq.endswith("INVITE"):
            self._send(self.answer_ack)

    def _send(self, message: str) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self.sip.out.sendto(message.encode(), (self.config.server, self.config.port))

    def _wake(self) -> None:
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(_WAKE, (self.config.local_ip, self.config.local_port))

    def _shut_socket(self) -> None:
        """shutdown() wakes a thread blocked on the socket; close() alone would not."""
        sock = getattr(self.sip, "s", None)
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


def _status(message: pyvoip_sip.SIPMessage) -> tuple[int, str]:
    return int(message.status), str(message.status.phrase)
