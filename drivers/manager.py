"""The device manager: owns every configured device and the emulators behind them.

Devices react to hub events on their own worker threads, so request threads
never touch device I/O. The manager only starts, stops and reports.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from hall.drivers.pace import Pace

log = logging.getLogger(__name__)


class ManagedDevice(Protocol):
    name: str
    kind: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> dict[str, Any]: ...


class Stoppable(Protocol):
    def stop(self) -> None: ...


class DeviceManager:
    def __init__(self) -> None:
        self.devices: dict[str, ManagedDevice] = {}
        self.emulators: dict[str, Any] = {}   # device name → emulator object (demo / commissioning)
        self.emulators_active = False
        self.pace = Pace()                    # busy or at rest: how often devices poll (hall.drivers.pace)

    def add(self, device: ManagedDevice) -> None:
        self.devices[device.name] = device

    def add_emulator(self, name: str, emulator: Stoppable) -> None:
        self.emulators[name] = emulator
        self.emulators_active = True

    def get(self, name: str) -> ManagedDevice | None:
        return self.devices.get(name)

    def by_kind(self, kind: str) -> list[ManagedDevice]:
        return [d for d in self.devices.values() if d.kind == kind]

    def start(self) -> None:
        for d in self.devices.values():
            d.start()

    def stop(self) -> None:
        for d in self.devices.values():
            try:
                d.stop()
            except Exception:
                log.exception("stopping device %s failed", d.name)
        for name, emu in self.emulators.items():
            try:
                emu.stop()
            except Exception:
                log.exception("stopping emulator %s failed", name)

    def states(self) -> list[dict[str, Any]]:
        return [d.status() for d in self.devices.values()]
