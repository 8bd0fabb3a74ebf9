"""LED figures for scripts/bench: call → LED frame on the wire, and frame sizes.

`run()` returns a dict (scripts/bench.py calls it; `python scripts/bench_led.py` prints it):

* call_to_board_frame_ms / call_to_window_frame_ms — the demo hall's three LED screens (board, window
  1, window 2) with their real drivers, each talking to its BX-5K/6K emulator over TCP 127.0.0.1;
  a clerk on window 1 calls ticket after ticket with `engine.call_next` (commit, event, worker,
  encode, write). Latency is from just before `call_next` to the moment the emulator decoded the
  last byte of the frame that carries the new call (board: newest-call row; window screen: its
  status row); p50/p99/max over `calls` calls. Between calls the clerk starts serving and every
  worker goes idle, so each call is measured alone, as in a hall.
* frame_bytes — bytes on the wire (preamble, escapes, CRC included): the board's call row (sent first,
  in a frame of its own), everything the board receives for one call (call row, then earlier calls
  and waiting counts), a window screen's call frame; and what that costs on a 9600- and a
  57600-baud serial line (10 bits a byte).
* serial_9600 — the same measurement for window 1 driven as a serial screen through a pty, with the
  emulator taking bytes at the pace of a 9600-baud line (a pty has no baud rate of its own).

Target (issue 3): call → LED frame p99 ≤ 100 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CALLS = 200
SERIAL_CALLS = 30


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))], 2)


def _summary(ms: list[float]) -> dict[str, float]:
    return {"p50": _pct(ms, 50), "p99": _pct(ms, 99), "max": round(max(ms), 2)}


def _sizes(sizes: list[int]) -> dict[str, float]:
    return {"min": min(sizes), "median": statistics.median(sizes), "max": max(sizes)}


def _hall(tmp: Path, *, serial_window: bool) -> Any:
    from hall.config.loader import demo_config_path, load_config
    from hall.drivers.base import wait_until
    from hall.services import build_services

    config = load_config(demo_config_path())
    devices = []
    for d in config.devices:
        if d.kind != "led":
            continue
        if serial_window and d.name == "led-w1":
            d = d.model_copy(update={"url": "emulator://pty", "options": {**d.options, "baudrate": 9600}})
        devices.append(d)
    cats = [c.model_copy(update={"daily_cap": 999}) for c in config.categories]
    svc = build_services(config.model_copy(update={"devices": devices, "categories": cats}), tmp)
    svc.devices.start()
    if not wait_until(lambda: all(x.online for x in svc.devices.devices.values()), 10):
        svc.stop()
        raise RuntimeError("LED screens did not come online")
    return svc


def _measure(svc: Any, calls: int) -> dict[str, Any]:
    from hall.drivers.led import protocol as p

    board, w1 = svc.devices.emulators["led-board"], svc.devices.emulators["led-w1"]
    devs = list(svc.devices.devices.values())
    eng = svc.engine
    eng.login(1, "1001")
    for _ in range(calls + 1):
        eng.issue("A")

    def settle() -> None:
        for d in devs:
            d.submit(lambda t: None).result(10)

    def next_frame(emu: Any, since: int, area: int) -> Any:
        def found(e: Any) -> bool:
            return any(area in f.area_ids for f in e.area_frames(since))

        if not emu.wait_for(found, 10):
            raise RuntimeError("the call never reached the screen")
        return next(f for f in emu.area_frames(since) if area in f.area_ids)

    board_ms, window_ms, board_sizes, board_totals, window_sizes = [], [], [], [], []
    settle()
    for _ in range(calls):
        nb, nw = board.frame_count, w1.frame_count
        t0 = time.perf_counter()
        eng.call_next(1, "1001")
        fb = next_frame(board, nb, 0)
        fw = next_frame(w1, nw, 1)
        board_ms.append((fb.at - t0) * 1000)
        window_ms.append((fw.at - t0) * 1000)
        board_sizes.append(fb.size)
        window_sizes.append(fw.size)
        settle()
        board_totals.append(sum(f.size for f in board.area_frames(nb)))
        eng.start(1, "1001")
        settle()
    ping = len(p.encode_packet(p.ping_data()))
    return {"board_ms": board_ms, "window_ms": window_ms, "board_sizes": board_sizes,
            "board_totals": board_totals, "window_sizes": window_sizes, "ping_bytes": ping}


def run(calls: int = CALLS, serial_calls: int = SERIAL_CALLS) -> dict[str, Any]:
    out: dict[str, Any] = {"calls": calls, "target_p99_ms": 100}
    with tempfile.TemporaryDirectory(prefix="bench-led-") as tmp:
        svc = _hall(Path(tmp), serial_window=False)
        try:
            m = _measure(svc, calls)
        finally:
            svc.stop()
    out["call_to_board_frame_ms"] = _summary(m["board_ms"])
    out["call_to_window_frame_ms"] = _summary(m["window_ms"])
    board_sz, total_sz, window_sz = _sizes(m["board_sizes"]), _sizes(m["board_totals"]), _sizes(m["window_sizes"])
    out["frame_bytes"] = {"board_call_row": board_sz, "board_all_rows_per_call": total_sz, "window_call": window_sz,
                          "ping": m["ping_bytes"]}
    out["wire_ms"] = {
        f"{baud}_baud": {"board_call_row": round(board_sz["median"] * 10 / baud * 1000, 1),
                         "board_all_rows_per_call": round(total_sz["median"] * 10 / baud * 1000, 1),
                         "window_call": round(window_sz["median"] * 10 / baud * 1000, 1)}
        for baud in (9600, 57600)
    }
    if sys.platform != "win32" and serial_calls > 0:
        with tempfile.TemporaryDirectory(prefix="bench-led-") as tmp:
            svc = _hall(Path(tmp), serial_window=True)
            try:
                svc.devices.emulators["led-w1"].fault("baud 9600")
                s = _measure(svc, serial_calls)
            finally:
                svc.stop()
        out["serial_9600"] = {"calls": serial_calls, "call_to_window_frame_ms": _summary(s["window_ms"]),
                              "channel": "pty, emulator paced at 9600 baud"}
    out["meets_target"] = out["call_to_board_frame_ms"]["p99"] <= 100 and out["call_to_window_frame_ms"]["p99"] <= 100
    return out


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(run(), ensure_ascii=False, indent=1))
