"""The device manager: owns every configured device and reports their states.

Devices are built from the config by kind; each runs its own worker thread
and reacts to hub events, so request threads never touch device I/O.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class ManagedDevice(Protocol):
    name: str
    kind: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> dict[str, Any]: ...


class DeviceManager:
    def __init__(self) -> None:
        self.devices: dict[str, ManagedDevice] = {}
        self.emulators_active = False

    def add(self, device: ManagedDevice) -> None:
        self.devices[device.name] = device

    def start(self) -> None:
        for d in self.devices.values():
            d.start()

    def stop(self) -> None:
        for d in self.devices.values():
            try:
                d.stop()
            except Exception:
                log.exception("stopping device %s failed", d.name)

    def states(self) -> list[dict[str, Any]]:
        return [d.status() for d in self.devices.values()]
