"""Shared pieces for the browser tests: a real hall service on a random port and the system Chromium.

A browser test module starts with `pytestmark = BROWSER_MARKS` and `hall, browser, pages = browser_hall("name")`
(one hall and one Chromium for the module, fresh pages per test; see `browser_hall` for set-up and page kinds).

`playwright install` cannot download here, so Playwright drives /usr/bin/chromium
(apt package `chromium`). Headless Chromium has no speech voices, so pages get a
stub `speechSynthesis` that records what they ask to say, in order, and finishes
each utterance after a short while like a real voice would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = os.environ.get("HALL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # as the hall PCs run it: sound may start without a touch (board announcements)
    "--autoplay-policy=no-user-gesture-required",
]
LANDSCAPE = {"width": 1920, "height": 1080}
PORTRAIT = {"width": 1080, "height": 1920}

# Records every utterance: `__speech.log` = [["start"|"end", text, t_ms], …], `__speech.cancels`.
SPEECH_STUB = """
(() => {
  const log = [];
  const state = { log, cancels: 0, speaking: false, durationMs: 250 };
  const synth = {
    get speaking() { return state.speaking; },
    get pending() { return false; },
    get paused() { return false; },
    getVoices() { return []; },
    speak(u) {
      if (state.speaking) log.push(["overlap", u.text, performance.now()]);
      state.speaking = true;
      log.push(["start", u.text, performance.now()]);
      setTimeout(() => {
        state.speaking = false;
        log.push(["end", u.text, performance.now()]);
        if (u.onend) u.onend(new Event("end"));
      }, state.durationMs);
    },
    cancel() { state.cancels += 1; state.speaking = false; },
    pause() {}, resume() {},
    addEventListener() {}, removeEventListener() {},
  };
  Object.defineProperty(window, "speechSynthesis", { value: synth, configurable: true });
  window.__speech = state;
})();
"""

FUNCTION_FORM = re.compile(r"^\s*(?:\(\s*\w*\s*\)|\w+)\s*=>")


def wait_js(page: Any, expression: str, *, timeout: float | None = None, arg: Any = None) -> None:
    """`page.wait_for_function`, except that a predicate which throws counts as "not yet".

    Playwright fails the whole wait at once when the predicate throws, e.g. when it reads an
    element the page has not rendered yet (or is re-rendering): under load a clerk-console fit
    case failed so with "Cannot read properties of null". An expression or a one-argument
    arrow function (given `arg`) is accepted, as `wait_for_function` accepts them."""
    call = f"({expression})(a)" if FUNCTION_FORM.match(expression) else f"({expression})"
    page.wait_for_function(f"(a) => {{ try {{ return {call}; }} catch (e) {{ return false; }} }}",
                           arg=arg, timeout=timeout)



def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


# every browser module's `pytestmark`: chosen by `-m browser`, skipped where there is no Chromium
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="system Chromium (/usr/bin/chromium) not installed"),
]


@dataclass
class Hall:
    url: str
    services: Any
    tokens: dict[tuple[int | None, str | None], str] = field(default_factory=dict)   # live device tokens

    def api(self, method: str, path: str, body: dict[str, Any] | None = None,
            token: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """A plain HTTP call; staff calls carry their session token as a Bearer header."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {**({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def login(self, staff_id: str, pin: str = "123456", window: int | None = None) -> str:
        body: dict[str, Any] = {"staff_id": staff_id, "pin": pin}
        if window is not None:
            body["window"] = window
        status, answer = self.api("POST", "/api/session", body)
        assert status == 201, answer
        token: str = answer["token"]
        return token


    def serve(self, token: str, window: int, category: str) -> dict[str, Any]:
        """A new `category` ticket called and started at `window` by the clerk signed in with `token`."""
        self.api("POST", "/api/tickets", {"category": category})
        status, body = self.api("POST", f"/api/windows/{window}/call", {}, token)
        assert status == 200, body
        assert self.api("POST", f"/api/windows/{window}/start", {}, token)[0] == 200
        ticket: dict[str, Any] = body["ticket"]
        return ticket

    def pair(self, *, window: int | None = None, kiosk: str | None = None) -> str:
        """Pair a window tablet or a kiosk the way a technician does (code on /tech → POST /api/pairing).

        Returns the device token the paired page keeps in localStorage. One device per window/kiosk:
        a new pairing revokes the older one, so a second page of the same device reuses the live token
        (as a second tab on the same tablet would) and pages already open stay paired.
        """
        key = (window, kiosk)
        known = self.tokens.get(key)
        if known and self.api("GET", "/api/pairing/me", headers={"X-Hall-Device": known})[1].get("paired"):
            return known
        tech = self.login("9101", "tech-6666")
        spec: dict[str, Any] = ({"kind": "evaluator", "window": window} if kiosk is None
                                else {"kind": "kiosk", "kiosk": kiosk})
        status, made = self.api("POST", "/api/tech/pairings", spec, tech)
        assert status == 201, made
        status, paired = self.api("POST", "/api/pairing", {"code": made["code"]})
        assert status == 201, paired
        token: str = paired["token"]
        self.tokens[key] = token
        return token


DEVICE_PAGE = re.compile(r"^/(?:evaluator/(?P<window>\d+)|kiosk/(?P<kiosk>[0-9A-Za-z_-]+))")


def serve_hall(data_dir: Path, config_path: Path | None = None) -> Iterator[Hall]:
    """The demo hall (or the hall in `config_path`) with its emulated devices, served by waitress on a free port."""
    import waitress
    from hall.config.loader import demo_config_path, load_config
    from hall.services import build_services
    from hall.web.app import create_app

    config = load_config(config_path or demo_config_path())
    svc = build_services(config, data_dir, with_devices=True)
    svc.start()
    app = create_app(svc, {"SSE_HEARTBEAT": 2.0, "SSE_LIFETIME": 120.0})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=config.server.threads,
                                    channel_timeout=30, ident="hall-test")
    port = server.effective_port
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError):
            if not stopping.is_set():       # closing the sockets under select() is how it stops
                raise

    thread = threading.Thread(target=run, name="waitress-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60         # a busy 2-core machine can take a while to answer first
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=10):
                break
        except urllib.error.HTTPError:
            break   # answering, even if degraded
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield Hall(url=url, services=svc)
    finally:
        stopping.set()
        svc.hub.close()          # ends the live streams that hold server threads
        server.task_dispatcher.shutdown(timeout=5)
        server.close()
        thread.join(timeout=5)
        svc.stop()


def shot(page: Any, name: str) -> Path:
    """Save a screenshot under test-output/screenshots/ (the run's artefacts)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def chromium_browser(*, scrollbars: bool = False) -> Iterator[Any]:
    """The system Chromium under Playwright, for a module-scoped `browser` fixture to `yield from`.

    `scrollbars=True` keeps the scrollbars that headless mode hides by default, as the hall's
    Chromium shows them (the fit check counts a scrollbar as the sign that a box scrolls)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                              ignore_default_args=["--hide-scrollbars"] if scrollbars else None)
        yield b
        b.close()


class BrowserPages:
    """Opens pages in Chinese/Shanghai browser contexts and remembers their console errors.

    With `speech=True` every context gets the `SPEECH_STUB` before its first page.
    """

    def __init__(self, browser: Any, hall: Hall, *, speech: bool = False) -> None:
        self.browser = browser
        self.hall = hall
        self.speech = speech
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def context(self, viewport: dict[str, int]) -> Any:
        ctx = self.browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        if self.speech:
            ctx.add_init_script(SPEECH_STUB)
        self.contexts.append(ctx)
        return ctx

    def open_in(self, ctx: Any, path: str, name: str, *, paired: bool = True) -> Any:
        """A new page in `ctx` at `path`; its page errors and console errors are kept under `name`.

        `paired=False` opens a tablet/kiosk page as a fresh, unpaired device (its pairing pad).
        """
        device = DEVICE_PAGE.match(path) if paired else None
        if device:   # a window tablet / kiosk page: paired first, as a technician does when installing it
            token = self.hall.pair(window=int(device["window"]) if device["window"] else None, kiosk=device["kiosk"])
            ctx.add_init_script(f"localStorage.setItem('hall.deviceToken', {json.dumps(token)});")
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{name}: {e}"))
        page.on("console", lambda m: self.errors.append(f"{name}: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text else None)
        page.goto(self.hall.url + path)
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


class Pages(BrowserPages):
    """Opens pages with the speech stub, each in a fresh context of its own size (screens' and staff pages' tests)."""

    def __init__(self, browser: Any, hall: Hall) -> None:
        super().__init__(browser, hall, speech=True)

    def open(self, path: str, viewport: dict[str, int] = LANDSCAPE, *, name: str = "") -> Any:
        return self.open_in(self.context(viewport), path, name or path)


P = TypeVar("P", bound=BrowserPages)


def pages_for_test(pages: P) -> Iterator[P]:
    """For a `pages` fixture to `yield from`: closes the contexts after the test and fails it on any
    console or page error the test's pages reported."""
    yield pages
    pages.close()
    assert not pages.errors, pages.errors


def hotkey(page: Any, key: str, action: str) -> None:
    """Press a console hot key once its action is live.

    The console ignores a key while the previous action's request is still in flight (its buttons
    are off): the screen may already show the new state from the live stream before the answer
    arrives, so a test that presses at once loses the key on a busy machine."""
    wait_js(page, f"!document.querySelector('[data-testid=act-{action}]').disabled")
    page.keyboard.press(key)


def browser_hall(name: str, *, prepare: Callable[[Hall, Path], Iterator[None] | None] | None = None,
                 config_path: Path | None = None,
                 pages: Callable[[Any, Hall], BrowserPages] = BrowserPages) -> tuple[Any, Any, Any]:
    """The module fixtures every browser test module wants: `hall, browser, pages = browser_hall("x")`.

    One hall (served from a temporary folder named `name`) and one Chromium per module, fresh
    `pages` per test that fail it on any console error. `prepare(hall, folder)` sets the hall up
    once before the tests (a policy notice, a working morning); written as a generator, its code
    after `yield` runs when the module is done. `pages(browser, hall)` makes a test's pages (e.g. `Pages`,
    or `functools.partial(BrowserPages, speech=True)`)."""

    @pytest.fixture(scope="module", name="hall")
    def hall_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
        folder = tmp_path_factory.mktemp(name)
        for h in serve_hall(folder, config_path):
            setup = prepare(h, folder) if prepare else None
            if setup is not None:
                next(setup)
            yield h
            if setup is not None:
                next(setup, None)

    @pytest.fixture(scope="module", name="browser")
    def browser_fixture() -> Iterator[Any]:
        yield from chromium_browser()

    @pytest.fixture(name="pages")
    def pages_fixture(browser: Any, hall: Hall) -> Iterator[BrowserPages]:
        yield from pages_for_test(pages(browser, hall))

    return hall_fixture, browser_fixture, pages_fixture


def take_ticket(page: Any, category: str) -> str:
    """Take a `category` ticket on an open kiosk's 取号 screen; the number it shows."""
    page.get_by_test_id("tile-take").click()
    page.get_by_test_id(f"cat-{category}").click()
    number = page.get_by_test_id("ticket-number")
    number.wait_for()
    text: str = number.inner_text()
    return text


def sign_in(page: Any, staff_id: str, pin: str) -> None:
    """Sign in on a staff page's login form (manager, technician, clerk without a window)."""
    page.get_by_test_id("staff-id").fill(staff_id)
    page.get_by_test_id("pin").fill(pin)
    page.get_by_test_id("login").click()


def spoken(page: Any) -> list[str]:
    """What the page has started to say, in order (from the `SPEECH_STUB` log)."""
    return [text for kind, text, _ in page.evaluate("window.__speech.log") if kind == "start"]
