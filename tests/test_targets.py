"""Service-level targets per category (issue 13 item 3): config defaults, share within target in the
figures, over-target now (board and manager), and 预警 using each category's own target."""

from __future__ import annotations

from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.manage.alerts import alerts
from hall.manage.figures import period_figures
from hall.manage.targets import live_targets, target_for
from hall.queue.clock import FixedClock
from hall.services import Services
from pydantic import ValidationError

from tests.conftest import serve_ticket as _serve


@pytest.fixture
def config(config: HallConfig) -> HallConfig:
    """The demo hall with 医保、人社 (C) on tight targets; the other categories keep the hall's defaults."""
    cats = [c.model_copy(update={"target_wait_minutes": 10, "target_service_minutes": 5}) if c.prefix == "C" else c
            for c in config.categories]
    return config.model_copy(update={"categories": cats})


def test_targets_default_to_the_halls_numbers(config: HallConfig) -> None:
    assert target_for(config, "C").wait_minutes == 10 and target_for(config, "C").service_minutes == 5
    a = target_for(config, "A")
    assert a.wait_minutes == config.queue.alert_wait_minutes
    assert a.service_minutes == config.queue.target_service_minutes
    with pytest.raises(ValidationError):
        config.categories[0].model_validate({"prefix": "A", "name": "x", "target_wait_minutes": 0})


def test_figures_show_the_share_within_each_categorys_target(services: Services, clock: FixedClock) -> None:
    services.engine.login(3, "1003")
    services.engine.login(4, "1004")
    _serve(services, clock, "C", 3, "1003", wait=4, service=3)     # within both
    _serve(services, clock, "C", 3, "1003", wait=12, service=8)    # over both C targets
    _serve(services, clock, "D", 4, "1004", wait=12, service=8)    # within the hall defaults (30 / 20)
    f = period_figures(services.db, services.config, clock.today(), clock.today())
    c = next(x for x in f["categories"] if x["prefix"] == "C")
    assert (c["wait_within_target"], c["service_within_target"]) == (0.5, 0.5)
    assert c["target_wait_minutes"] == 10 and c["served"] == 2 and c["mean_wait_minutes"] == 8.0
    d = next(x for x in f["categories"] if x["prefix"] == "D")
    assert (d["wait_within_target"], d["service_within_target"]) == (1.0, 1.0)
    assert f["total"]["wait_within_target"] == round(2 / 3, 4)
    a = next(x for x in f["categories"] if x["prefix"] == "A")
    assert a["wait_within_target"] is None                          # nothing to measure is not 0 %


def test_over_target_now_and_the_warning_use_the_category_target(services: Services, clock: FixedClock) -> None:
    services.engine.issue("C")
    services.engine.issue("D")
    clock.advance(minutes=11)
    now = live_targets(services.db, services.config, clock.now(), clock.today().isoformat())
    by = {x["prefix"]: x for x in now}
    assert by["C"]["over_wait"] and by["C"]["over"] and by["C"]["longest_wait_minutes"] == 11
    assert not by["D"]["over"]                                      # 11 min is within the default 30
    warn = [a for a in alerts(services.engine) if a["kind"] == "long_wait"]
    assert [(a["category"], a["target_minutes"]) for a in warn] == [("C", 10)]
    assert "目标 10 分钟" in warn[0]["message"]
    clock.advance(minutes=20)                                       # 31 min: D passes the hall default too
    warn = [a for a in alerts(services.engine) if a["kind"] == "long_wait"]
    assert sorted(a["category"] for a in warn) == ["C", "D"]


def test_slow_service_marks_the_category_and_the_public_route(client: Any, services: Services,
                                                              clock: FixedClock) -> None:
    services.engine.login(3, "1003")
    _serve(services, clock, "C", 3, "1003", wait=1, service=9)
    cats = {x["prefix"]: x for x in client.get("/api/targets").get_json()["categories"]}
    assert cats["C"]["over_service"] and cats["C"]["over"] and cats["C"]["mean_service_minutes"] == 9.0
    assert not cats["C"]["over_wait"] and not cats["A"]["over"]
