"""Ingest throughput: panoramisk's own parser against callassist's parse + track + classify.

Replays the real burst capture (100 calls, ~35 at once) repeated to at least 200,000 events,
fed in 64 KiB reads as a socket would deliver them, and prints events per second for
(a) panoramisk 1.4's AMIProtocol parsing alone (its handlers are no-ops), and
(b) callassist's framing + parsing + call tracker + outcome classifier + line watch,
side by side in one run, then the peak memory of each (tracemalloc, in a separate pass so
that tracing does not slow the timed runs).

    python bench/ingest.py [--events 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402

from telephony.ami.actions import WANTED_EVENTS, WANTED_VARIABLES  # noqa: E402
from telephony.ami.wire import AmiDecoder, EventSieve, event_time  # noqa: E402
from telephony.calls.model import CallEnded  # noqa: E402
from telephony.calls.trunks import TrunkPlan  # noqa: E402
from telephony.capture import load_arrival_times, times_path  # noqa: E402
from telephony.switchboard import Switchboard  # noqa: E402

CAPTURE = ROOT / "tests" / "fixtures" / "ami" / "burst_load.ami"
READ_SIZE = 64 * 1024


def build_stream(min_events: int) -> tuple[bytes, list[float], int]:
    """The capture's messages repeated, one banner, and each message's arrival time."""
    raw = CAPTURE.read_bytes()
    banner_end = raw.index(b"\r\n") + 2
    banner, body = raw[:banner_end], raw[banner_end:]
    per_copy = body.count(b"\r\n\r\n")
    times = load_arrival_times(times_path(CAPTURE)) or {}
    span = max(times.values()) + 1.0
    copies = -(-min_events // per_copy)
    arrivals = [
        copy * span + times.get(index, 0.0)
        for copy in range(copies)
        for index in range(1, per_copy + 1)
    ]
    return banner + body * copies, arrivals, per_copy * copies


def chunks(stream: bytes) -> list[bytes]:
    return [stream[i : i + READ_SIZE] for i in range(0, len(stream), READ_SIZE)]


class _NullFactory:
    """What panoramisk's protocol hands parsed events to; here it does nothing."""

    def dispatch(self, message: object) -> None:
        return None


def run_panoramisk(reads: list[bytes], _arrivals: list[float]) -> int:
    protocol = AMIProtocol()
    protocol.connection_made(_NullTransport())
    protocol.factory = _NullFactory()
    protocol.encoding = "utf8"
    events = 0
    original = protocol.handle_message

    def counting(message: object) -> None:
        nonlocal events
        events += 1
        original(message)

    protocol.handle_message = counting
    for data in reads:
        protocol.data_received(data)
    return events


def run_callassist(reads: list[bytes], arrivals: list[float]) -> int:
    """As the live link does it: the sieve skips undecoded what the product never uses."""
    return _track(reads, arrivals, AmiDecoder(sieve=EventSieve(WANTED_EVENTS, WANTED_VARIABLES)))


def run_callassist_unsieved(reads: list[bytes], arrivals: list[float]) -> int:
    """Every message decoded: what the parser alone is worth."""
    return _track(reads, arrivals, AmiDecoder())


def _track(reads: list[bytes], arrivals: list[float], decoder: AmiDecoder) -> int:
    board = Switchboard(TrunkPlan.parse("PJSIP/2001"))
    feed = board.feed
    last = len(arrivals)
    ended = 0
    for data in reads:
        for index, headers in decoder.feed(data):
            # A live event's time is its arrival; here, its arrival in the recording.
            at = event_time(headers, arrivals[index - 1] if index <= last else None)
            for signal in feed(headers, at):
                if isinstance(signal, CallEnded):
                    ended += 1
    if ended == 0:
        raise SystemExit("no call was classified: the benchmark is not measuring the tracker")
    return decoder.messages


class _NullTransport:
    def write(self, data: bytes) -> None:
        return None

    def close(self) -> None:
        return None


Runner = Callable[[list[bytes], list[float]], int]


def best_rate(runner: Runner, reads: list[bytes], arrivals: list[float], repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        events = runner(reads, arrivals)
        elapsed = time.perf_counter() - start
        best = max(best, events / elapsed)
    return best


def peak_memory(runner: Runner, reads: list[bytes], arrivals: list[float]) -> int:
    gc.collect()
    tracemalloc.start()
    runner(reads, arrivals)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    stream, arrivals, events = build_stream(args.events)
    reads = chunks(stream)
    print(f"stream: {CAPTURE.name} repeated, {events:,} messages, {len(stream) / 1e6:.1f} MB,")
    print(f"        fed in {len(reads):,} reads of {READ_SIZE // 1024} KiB; best of {args.repeat}")
    print(f"python: {sys.version.split()[0]}")
    results = {}
    for name, runner in (
        ("(a) panoramisk 1.4 parser alone", run_panoramisk),
        ("(b) callassist parse+track+classify", run_callassist),
        ("    (b) without the event sieve", run_callassist_unsieved),
    ):
        rate = best_rate(runner, reads, arrivals, args.repeat)
        peak = peak_memory(runner, reads, arrivals)
        results[name.strip()] = rate
        print(f"{name:<38} {rate:>12,.0f} events/s   peak memory {peak / 1e6:6.1f} MB")
    a, b, unsieved = results.values()
    print(f"{'(b) / (a)':<38} {b / a:>12.2f}x   (without the sieve {unsieved / a:.2f}x)")


if __name__ == "__main__":
    main()
