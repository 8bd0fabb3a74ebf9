"""Shared fixtures: a demo-like hall on a temporary SQLite file with a fixed clock."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hall.config.loader import demo_config_path, load_config
from hall.config.schema import HallConfig
from hall.drivers.base import DeviceState, wait_until
from hall.drivers.emulators.voice import VirtualSpeaker
from hall.drivers.voice.device import VoiceDevice
from hall.events import EventHub
from hall.queue.clock import FixedClock
from hall.services import Services, build_services

from tests.waiting import WAIT_SECONDS

# A Wednesday morning during opening hours.
T0 = datetime(2026, 11, 25, 9, 0, 0)


@pytest.fixture
def config() -> HallConfig:
    """The demo hall, without its emulated county link: relay tests start their own simulator."""
    cfg = load_config(demo_config_path())
    return cfg.model_copy(update={"county": cfg.county.model_copy(update={"endpoint": ""})})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def services(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    svc = build_services(config, tmp_path, clock=clock)
    yield svc
    svc.stop()


@pytest.fixture
def engine(services: Services) -> Any:
    return services.engine


@pytest.fixture
def events(services: Services) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    services.hub.add_listener(lambda ev: seen.append((ev.kind, ev.data)))
    return seen


def app_client(svc: Services, *, use_cookies: bool = True) -> Any:
    """A Flask test client on the app over `svc`."""
    from hall.web.app import create_app

    return create_app(svc, {"TESTING": True}).test_client(use_cookies=use_cookies)


@pytest.fixture
def client(services: Services) -> Any:
    return app_client(services)


@pytest.fixture
def api(client: Any) -> Any:
    """A client that keeps no cookies: each request says who it is (or nobody: the kiosk)."""
    return client.application.test_client(use_cookies=False)


@pytest.fixture
def voice(tmp_path: Path) -> Iterator[tuple[VoiceDevice, VirtualSpeaker, EventHub]]:
    """The voice device on the virtual speaker (espeak-ng renders), fed by its own event hub."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    speaker = VirtualSpeaker(realtime=0.02)
    dev = VoiceDevice("voice", cache_dir=tmp_path / "voice", url="emulator://", speaker=speaker, emulated=True)
    hub = EventHub()
    hub.add_listener(dev.on_event)
    dev.start()
    assert wait_until(lambda: dev.state == DeviceState.READY, WAIT_SECONDS)
    yield dev, speaker, hub
    dev.stop()


def login(client: Any, staff_id: str = "1001", pin: str = "123456", window: int | None = 1,
          env: dict[str, str] | None = None, *, post: str | None = None,
          headers: dict[str, str] | None = None) -> str:
    """Sign a member of staff in (from the PC `env` describes, on `post`); returns the session token."""
    body: dict[str, Any] = {"staff_id": staff_id, "pin": pin}
    if window is not None:
        body["window"] = window
    if post is not None:
        body["post"] = post
    r = client.post("/api/session", json=body, headers=headers or {}, environ_base=env or {})
    assert r.status_code == 201, r.get_json()
    token: str = r.get_json()["token"]
    return token


def auth(api: Any, staff_id: str = "1001", pin: str = "123456", window: int | None = 1,
         env: dict[str, str] | None = None, *, post: str | None = None,
         headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers of a signed-in staff request: the Bearer token, plus `headers` (e.g. an Origin)."""
    token = login(api, staff_id, pin, window, env, post=post, headers=headers)
    return {"Authorization": f"Bearer {token}", **(headers or {})}


def running_hall(config: HallConfig, folder: Path, clock: FixedClock, *,
                 ready: Callable[[Services], bool] | None = None) -> Iterator[Services]:
    """The hall of `config` with its (emulated) devices started, once `ready(svc)` holds (WAIT_SECONDS at most);
    for a fixture to `yield from`."""
    svc = build_services(config, folder, clock=clock)
    svc.start()
    if ready is not None:
        assert wait_until(lambda: ready(svc), WAIT_SECONDS)
    yield svc
    svc.stop()


def write_config(folder: Path, text: str) -> Path:
    """`text` as the hall's config file `hall.toml` in `folder`."""
    p = folder / "hall.toml"
    p.write_text(text, encoding="utf-8")
    return p


def serve_ticket(svc: Services, clock: FixedClock, cat: str, window: int, clerk: str, wait: int,
                 service: int) -> None:
    """A ticket of `cat` served start to finish at `window`: `wait` minutes in the queue, `service` at the window."""
    svc.engine.issue(cat)
    clock.advance(minutes=wait)
    svc.engine.call_next(window, clerk)
    svc.engine.start(window, clerk)
    clock.advance(minutes=service)
    svc.engine.finish(window, clerk)


def page_data(html: str) -> dict[str, Any]:
    """The JSON a screen's page carries for its script (`<script id="page-data">`)."""
    m = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "page data missing"
    data: dict[str, Any] = json.loads(m.group(1))
    return data


def pair_device(client: Any, *, window: int | None = None, kiosk: str | None = None) -> dict[str, str]:
    """Pair a window tablet or a kiosk through the real flow (technician code → device token).

    Returns the header the paired device sends on its requests.
    """
    client = client.application.test_client(use_cookies=False)   # leaves the caller's session alone
    tech = login(client, "9101", "tech-6666", window=None)
    spec: dict[str, Any] = ({"kind": "evaluator", "window": window} if kiosk is None
                            else {"kind": "kiosk", "kiosk": kiosk})
    made = client.post("/api/tech/pairings", json=spec, headers={"Authorization": f"Bearer {tech}"})
    assert made.status_code == 201, made.get_json()
    r = client.post("/api/pairing", json={"code": made.get_json()["code"]})
    assert r.status_code == 201, r.get_json()
    return {"X-Hall-Device": r.get_json()["token"]}
