"""ID-card reader figures: placement → `idcard.read` latency, one read's bytes and time, idle cost.

`run()` returns a dict (`python scripts/bench_idcard.py` prints it as JSON). The real driver
(`IdCardReader` on a `SerialTransport`) reads the reader emulator over a pty (POSIX), with the
default poll interval (0.5 s):

* place_to_event_ms — a card is placed at a random moment of the poll cycle, 30 times; time from
  placing it to the masked `idcard.read` event (p50/p90/max): about half a poll on average.
* read_ms — one find → select → read-base round trip on the worker, measured on the line (p50);
  a pty has no baud rate, so this is the software's share; at 115200 baud the 1,295-byte answer
  adds ~112 ms on a real line (computed).
* idle_cpu_percent — CPU of this process (reader + emulator) over 20 s with no card.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from typing import Any

from hall.drivers.base import wait_until
from hall.drivers.emulators.idcard import IdCardEmulator, make_card
from hall.drivers.idcard import protocol as P
from hall.drivers.idcard.device import IdCardReader
from hall.drivers.transport import SerialTransport

CARD = ("张三", "男", "19491231", "11010519491231002X")


def run(placements: int = 30, idle_seconds: float = 20.0) -> dict[str, Any]:
    emu = IdCardEmulator()
    path = emu.start_pty()
    got: list[float] = []
    reader = IdCardReader("bench", SerialTransport(path, baudrate=115200),
                          publish=lambda kind, data: got.append(time.monotonic()),
                          hash_key=b"bench-key" * 4, same_card_quiet=0.0)
    reader.start()
    try:
        if not wait_until(lambda: reader.online, 5):
            raise RuntimeError(f"reader not ready: {reader.status()}")
        lat: list[float] = []
        rng = random.Random(1)
        for _ in range(placements):
            emu.remove()
            time.sleep(rng.uniform(0.0, reader.idle_interval))      # a random phase of the poll cycle
            n, t0 = len(got), time.monotonic()
            emu.place(make_card(*CARD))
            if not wait_until(lambda: len(got) > n, 5):  # noqa: B023 - called before n changes
                raise RuntimeError("no read")
            lat.append((got[-1] - t0) * 1000)
        emu.remove()
        reads: list[float] = []
        for _ in range(20):
            emu.place(make_card(*CARD))
            t0 = time.perf_counter()
            fut = reader.submit(lambda t: (reader._transact(t, P.FIND_CARD), reader._transact(t, P.SELECT_CARD),
                                           reader._transact(t, P.READ_BASE, timeout=reader.read_timeout)))
            fut.result(5)
            reads.append((time.perf_counter() - t0) * 1000)
            emu.remove()
        c0, w0 = time.process_time(), time.monotonic()
        time.sleep(idle_seconds)
        idle = 100 * (time.process_time() - c0) / (time.monotonic() - w0)
    finally:
        reader.stop()
        emu.stop()
    lat.sort()
    answer_bytes = len(P.encode_answer(P.ST_OK, bytes(4 + P.TEXT_LENGTH + P.PHOTO_LENGTH)))
    return {
        "poll_every_s": reader.idle_interval,
        "place_to_event_ms": {"p50": round(statistics.median(lat)), "p90": round(lat[int(len(lat) * 0.9) - 1]),
                              "max": round(lat[-1])},
        "read_ms_p50_pty": round(statistics.median(reads), 1),
        "read_answer_bytes": answer_bytes,
        "read_answer_ms_at_115200_computed": round(answer_bytes * 10 / 115200 * 1000),
        "idle_cpu_percent": round(idle, 2),
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
