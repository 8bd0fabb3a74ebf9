"""Hall broadcast figures: manager send → LED row lit, and the bytes the broadcast costs on the line.

`run()` returns a dict (`python scripts/bench_broadcast.py` prints it as JSON). The demo hall's LED
board (real driver, BX-5K/6K emulator over TCP on 127.0.0.1) takes 20 broadcasts, each withdrawn
before the next:

* send_to_led_ms — `Broadcasts.send` (SQLite commit, event) until the emulator shows the text in its
  bottom row (p50/max); a TCP loopback has no baud rate, so this is the software's share.
* frame_bytes — sizes of the A3 06 frames a broadcast and its withdrawal send; at 9600 baud each
  byte costs ~1.04 ms on a real serial line (computed in `at_9600_baud_ms`).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from hall.config.loader import demo_config_path, load_config
from hall.services import build_services


def run(rounds: int = 20) -> dict[str, Any]:
    cfg = load_config(demo_config_path())
    boards = [d for d in cfg.devices if d.kind == "led" and d.options.get("role", "board") == "board"]
    cfg = cfg.model_copy(update={"county": cfg.county.model_copy(update={"endpoint": ""}), "devices": boards})
    with tempfile.TemporaryDirectory() as tmp:
        svc = build_services(cfg, Path(tmp))
        try:
            svc.devices.start()
            (name,) = svc.devices.emulators
            emu = svc.devices.emulators[name]
            assert emu.wait_for(lambda e: bool(e.lines()), 10), "the LED board did not come up"
            dev = svc.devices.devices[name]
            sizes: list[int] = []
            write = dev.transport.write  # type: ignore[attr-defined]

            def counted(data: bytes) -> Any:
                sizes.append(len(data))
                return write(data)

            dev.transport.write = counted  # type: ignore[attr-defined]
            latencies = []
            assert svc.broadcasts is not None
            for i in range(rounds):
                msg = f"系统维护，请稍候{i}"
                t0 = time.perf_counter()
                item = svc.broadcasts.send(msg, ["led"], svc.clock.now() + timedelta(minutes=5), "bench")
                assert emu.wait_for(lambda e, m=msg: e.lines()[-1] == m, 10)
                latencies.append((time.perf_counter() - t0) * 1000)
                svc.broadcasts.withdraw(item["id"], "bench")
                assert emu.wait_for(lambda e: e.lines()[-1].startswith("等候"), 10)
        finally:
            svc.stop()
    frame = max(sizes) if sizes else 0
    return {
        "send_to_led_ms": {"p50": round(statistics.median(latencies), 2), "max": round(max(latencies), 2)},
        "frame_bytes": sorted(set(sizes)),
        "at_9600_baud_ms": round(frame * 10 / 9600 * 1000, 1),
        "rounds": rounds,
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
