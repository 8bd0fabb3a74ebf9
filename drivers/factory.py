"""Builds device workers from the config's `[[devices]]` entries.

Each device kind registers one builder in `BUILDERS` (kind → function). A
builder gets the device's config entry and a `DeviceContext`, and returns a
started-later device (anything with start/stop/status). URLs of the form
`emulator://` are resolved by the builder: it starts the kind's emulator
(a real channel: TCP on 127.0.0.1 or a pty) and points the driver at it,
and the manager records that an emulator is active so every screen can say so.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hall.config.schema import Device, HallConfig
from hall.drivers.base import DeviceWorker
from hall.drivers.contracts import Clock, EventSource, Redactor
from hall.drivers.manager import DeviceManager, ManagedDevice

log = logging.getLogger(__name__)


@dataclass
class DeviceContext:
    """What a builder may use; the composition root (hall.services) fills it with the app's objects."""

    config: HallConfig
    hub: EventSource
    engine: Any              # the queue engine (kept loose: devices only call its read API)
    data_dir: Path
    clock: Clock
    manager: DeviceManager
    redact: Redactor         # the app's ID/phone masking rule, for text a device prints or shows
    # Hands the calling thread's database connection back to the pool (hall.store.db.Database.release):
    # each device worker runs it whenever it has finished its work (DeviceWorker.after_work).
    release: Callable[[], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[Device, DeviceContext], ManagedDevice]

# kind → "module:function"; modules are imported only when a device of that kind is configured,
# so a hall without a camera never loads OpenCV.
BUILDERS: dict[str, str] = {
    "printer": "hall.drivers.printer.device:build_printer",
    "led": "hall.drivers.led.device:build_led",
    "evaluator": "hall.drivers.evaluator.builder:build_evaluator",
    "voice": "hall.drivers.voice.device:build_voice",
    "camera": "hall.drivers.camera.device:build",
    "idcard": "hall.drivers.idcard.device:build_idcard",
}


def build_devices(ctx: DeviceContext) -> None:
    if ctx.config.devices:
        ctx.hub.add_listener(ctx.manager.pace.listener)
    for spec in ctx.config.devices:
        target = BUILDERS.get(spec.kind)
        if target is None:
            log.error("device %s: no driver for kind %r yet; skipped", spec.name, spec.kind)
            continue
        module, func = target.split(":")
        builder: Builder = getattr(importlib.import_module(module), func)
        try:
            device = builder(spec, ctx)
        except (ValueError, OSError) as exc:
            log.error("device %s (%s): cannot be set up: %s", spec.name, spec.url, exc)
            continue
        if isinstance(device, DeviceWorker):
            device.after_work = ctx.release
        ctx.manager.add(device)
        if spec.url.startswith("emulator://"):
            ctx.manager.emulators_active = True
