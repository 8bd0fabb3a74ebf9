"""The relay tests' county: the shipped simulator, and the demo hall sending to it.

A module takes the fixtures by assignment (`sim = relay_support.county_sim(SECRET)`), as with
records_support; the secret is the module's, so a test that reads it sees where it came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.relay.county_sim import CountySimulator
from hall.services import Services, build_services

HALL = "430224100-BMFW"     # the demo hall's id at the county


def county_sim(secret: str) -> Any:
    """A `sim` fixture: the county simulator knowing the demo hall by `secret`."""

    @pytest.fixture(name="sim")
    def sim() -> Iterator[CountySimulator]:
        with CountySimulator(secrets={HALL: secret.encode()}) as s:
            yield s

    return sim


def hall_on_county(tmp_path: Path, config: HallConfig, clock: FixedClock, sim: CountySimulator,
                   monkeypatch: pytest.MonkeyPatch, secret: str) -> Iterator[Services]:
    """The demo hall (no devices) whose relay sends to `sim`, signing with `secret` (for a fixture to `yield from`)."""
    monkeypatch.setenv("HALL_COUNTY_SECRET", secret)
    county = config.county.model_copy(update={"endpoint": sim.url, "timeout_seconds": 2.0})
    svc = build_services(config.model_copy(update={"county": county}), tmp_path, clock=clock, with_devices=False)
    yield svc
    svc.stop()
