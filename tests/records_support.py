"""The records tests' shared hall: no devices, the demo catalog item, records with a chosen catalog.

Records never need the emulated devices, and a hall without them starts faster. A module takes the
fixtures it wants by assignment (`services = records_support.services`): pytest finds fixtures among
a module's names, and an assignment (unlike an import) does not read as an unused name to ruff.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.records.base import ItemInfo
from hall.services import Services, build_services

# the demo catalog's 低保 item, as the records tests book, rate and count it
DEMO_ITEM = ItemInfo("430224100DB01", "最低生活保障申请", "A", 15, "工作日", "承诺件")


def hall_without_devices(tmp_path: Path, config: HallConfig, clock: FixedClock, *,
                         village_demo: bool = False) -> Iterator[Services]:
    """The conftest hall without devices (for a fixture to `yield from`); `village_demo` adds the demo villages."""
    svc = build_services(config, tmp_path, clock=clock, with_devices=False)
    if village_demo:
        assert svc.village is not None
        svc.village.seed_demo()
    yield svc
    svc.stop()


@pytest.fixture(name="services")
def services(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    yield from hall_without_devices(tmp_path, config, clock)


@pytest.fixture(name="services")
def services_with_villages(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    """With the demo villages and agents (qs01/246810): village routes have someone to answer."""
    yield from hall_without_devices(tmp_path, config, clock, village_demo=True)


def records_fixture(items: Mapping[str, ItemInfo] | None = None) -> Any:
    """A `rec` fixture: the hall's records, whose catalog knows only `items` (the county catalog is not loaded)."""

    @pytest.fixture(name="rec")
    def rec(services: Services) -> Any:
        r = services.records
        assert r is not None
        if items is not None:
            r.ctx.items = items.get
        return r

    return rec
