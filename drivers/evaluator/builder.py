"""Builds an evaluator device from its config entry (`BUILDERS["evaluator"]`).

    [[devices]]
    name = "eval-w1"
    kind = "evaluator"
    url = "/dev/ttyUSB1"          # or COM4, socket://…, rfc2217://…; for type = "hid" an input device
    window = 1
    options = { type = "serial", address = 1 }

`url = "emulator://"` starts the kind's emulator behind a real channel (a pty on
POSIX, TCP on 127.0.0.1 elsewhere or with option `emulator_channel = "tcp"`;
for type "hid" a FIFO) and registers it with the device manager so screens show
the emulator banner and the technician page can press its virtual keys.
"""

from __future__ import annotations

from typing import Any

from hall.config.schema import Device
from hall.drivers.evaluator.base import DEFAULT_PROMPT_TEXT, DEFAULT_PROMPT_TIMEOUT, RatingSink, option_float
from hall.drivers.factory import DeviceContext
from hall.drivers.manager import ManagedDevice
from hall.drivers.transport import open_transport


def build_evaluator(spec: Device, ctx: DeviceContext) -> ManagedDevice:
    opts: dict[str, Any] = dict(spec.options)
    kind = str(opts.get("type", "serial")).lower()
    if spec.window is None:
        raise ValueError(f"评价器 {spec.name} 必须指定 window（所在窗口号）")
    if spec.window not in {w.number for w in ctx.config.windows}:
        raise ValueError(f"评价器 {spec.name} 的窗口 {spec.window} 不在配置的窗口中")

    def sink() -> RatingSink | None:
        # looked up at press time, so the records service may be wired after the devices
        found: RatingSink | None = ctx.extra.get("rating_sink")
        return found

    emulated = spec.url.startswith("emulator://")
    emu_dir = ctx.data_dir / "emulators"
    timeout = option_float(opts, "prompt_timeout", DEFAULT_PROMPT_TIMEOUT)
    device: Any
    if kind == "serial":
        from hall.drivers.evaluator.serial_keypad import EvaluatorDevice

        address = int(opts.get("address", 1))
        url = spec.url
        transport_opts = opts
        if emulated:
            from hall.drivers.emulators.evaluator import EvaluatorEmulator

            emu = EvaluatorEmulator(name=spec.name, channel=opts.get("emulator_channel") or None,
                                    link=emu_dir / f"{spec.name}.tty", address=address)
            emu.start()
            ctx.manager.add_emulator(spec.name, emu)
            url = emu.url
            transport_opts = {k: v for k, v in opts.items() if k != "baudrate"}
        device = EvaluatorDevice(
            spec.name, open_transport(url, transport_opts), window=spec.window, sink=sink, clock=ctx.clock,
            address=address, emulated=emulated,
            heartbeat=option_float(opts, "heartbeat", 2.0),
            rest_heartbeat=option_float(opts, "rest_heartbeat", 8.0), pace=ctx.manager.pace,
            degraded_after=option_float(opts, "degraded_after", 5.0),
            offline_after=option_float(opts, "offline_after", 12.0),
            reply_timeout=option_float(opts, "reply_timeout", 0.3),
            gap=option_float(opts, "gap", 0.1),
            prompt_text=str(opts.get("prompt_text", DEFAULT_PROMPT_TEXT)),
            prompt_timeout=timeout,
            thanks_show=int(opts.get("thanks_show", 3)),
        )
    elif kind == "hid":
        from hall.drivers.evaluator.hid_keypad import HidEvaluatorDevice, default_key_source, parse_keymap

        keymap = parse_keymap(str(opts["keymap"]) if "keymap" in opts else None)
        url = spec.url
        if emulated:
            from hall.drivers.emulators.evaluator_hid import HidKeypadEmulator

            hid = HidKeypadEmulator(emu_dir / f"{spec.name}.evdev", name=spec.name, keymap=keymap)
            hid.start()
            ctx.manager.add_emulator(spec.name, hid)
            url = hid.url
        device = HidEvaluatorDevice(spec.name, default_key_source(url, opts), window=spec.window, sink=sink,
                                    keymap=keymap, clock=ctx.clock, emulated=emulated, prompt_timeout=timeout)
    else:
        raise ValueError(f"评价器 {spec.name} 的类型 {kind!r} 未知（serial 或 hid；平板评价页无需配置设备）")
    ctx.hub.add_listener(device.on_event)
    built: ManagedDevice = device
    return built
