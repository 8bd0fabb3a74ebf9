"""The fit check: every screen, in its main states, at every size and mode it meets in a hall, measured in Chromium.

One data table (`ROWS`): a row is one screen state — which page, how to bring it there, the sizes and
modes, and the screen's minima for type and touch targets. Each (row, size, mode) is one test case; it
fails on text cut off or spilling out of its box, an interactive element out of view where nothing shows
that its box scrolls, sideways page scrolling, interactive elements overlapping or covered, text or a control
cut under a fixed/sticky bar or where the screen's scroll box meets the frame's footer/header (a visible
scrollbar does not excuse half a line at the footer: see `Row.frame_edge`), text or targets
below the screen's minima, and any critical or serious axe-core violation (tests/vendor/axe.min.js,
injected offline). The message names screen, state, size, mode, element (selector + text) and numbers.

Every case is photographed into test-output/screenshots/fit/. The smallest font and target measured per
screen are written to test-output/fit-minima.json (and printed with `-s`) for the issue's closing note.

Speed: one server and one browser for the module, one page per screen reused across its cases; a case
only changes the viewport and the mode and moves the page to its state.

To add a screen: write a `setup(page, ctx)` that brings an open page to the state (waiting on state, never a
sleep), or use a factory (`_kiosk_view`, `_agent_tab`, `_tab`), and append `Row(...)` lines. `Minima` holds
the screen's rules; `axe_skip` lists axe rules the screen is allowed to break (the kiosk locks zoom: it has
its own 长辈模式).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hall.config.loader import demo_config_path

from tests.browser_support import (
    ROOT,
    SHOTS,
    BrowserPages,
    Hall,
    chromium_available,
    chromium_browser,
    serve_hall,
    wait_js,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="system Chromium (/usr/bin/chromium) not installed"),
]

MEASURE = (Path(__file__).parent / "fit_measure.js").read_text(encoding="utf-8")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
FIT_SHOTS = SHOTS / "fit"
MINIMA_OUT = ROOT / "test-output" / "fit-minima.json"
STATE_MS = 10000          # a state that does not appear within this is a failure, not a wait

Size = tuple[int, int]
KIOSK_SIZES: list[Size] = [(1920, 1080), (1080, 1920), (1366, 768)]
PHONE_SIZES: list[Size] = [(360, 740), (390, 844)]
AGENT_SIZES: list[Size] = [*PHONE_SIZES, (1024, 768)]


@dataclass(frozen=True)
class Minima:
    """A screen's rules. `secondary` marks the text allowed down to `secondary` px (notes, badges, dates)."""

    body: float
    secondary: float
    target: float
    secondary_selector: str = ""


# Kiosk: body ≥ 24 px, secondary ≥ 20 px, targets ≥ 60×60; 长辈模式 body ≥ 30 px (secondary ≥ 24).
KIOSK_SECONDARY = (".muted, .sub, .badge, .tile-note, .hall-sub, .date, .countdown, .item-sub, .mat-note, .mat-form, "
                   ".flow-desc, .flow-actor, .flow-limit, .banner, .chosen, .ticket-est, .ticket-listen, .key.fn, "
                   ".way-off, .item-dept, .state")
KIOSK_MINIMA = {"normal": Minima(24, 20, 60, KIOSK_SECONDARY), "large": Minima(30, 24, 60, KIOSK_SECONDARY)}
PHONE_MINIMA = {"normal": Minima(16, 16, 44)}
SCROLL_HINT = "[data-scroll-hint]"


@dataclass
class Ctx:
    """What the setups share: the hall, and facts made once for the module (a ticket, a catalog item)."""

    hall: Hall
    cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


Setup = Callable[[Any, Ctx], None]


@dataclass(frozen=True)
class Row:
    screen: str               # which page object to use (one per screen, reused)
    state: str
    path: str                 # opened once per screen
    setup: Setup
    sizes: list[Size]
    modes: dict[str, Minima]
    axe_skip: tuple[str, ...] = ()
    # sizes axe runs at (None: all). axe reads the DOM, not the layout: for a desk page whose DOM is the
    # same at every size, once is enough (it costs ~1 s a run; the layout checks still run at every size)
    axe_sizes: tuple[Size, ...] | None = None
    # a line or control cut where the page's scroll box meets the frame's footer/header fails the case: a touch
    # screen (kiosk, board, evaluator, station) must fit what it shows. Off for pages that scroll like a document
    # at a desk or on a phone (clerk, manager, technician, agent), where fixed/sticky bars are still checked
    frame_edge: bool = True


# ------------------------------------------------------------------ kiosk states
def _kiosk_go(page: Any, view: str, params: dict[str, Any] | None = None) -> None:
    page.evaluate("([v, p]) => { window.hallKiosk.goHome(); if (v !== 'home') window.hallKiosk.go(v, p); }",
                  [view, params or {}])


def _wait(page: Any, selector: str) -> None:
    page.wait_for_selector(selector, state="visible", timeout=STATE_MS)




def _kiosk_view(view: str, ready: str) -> Setup:
    """A kiosk screen opened through its router; the state is there when `ready` shows."""
    def setup(page: Any, ctx: Ctx) -> None:
        _kiosk_go(page, view)
        _wait(page, ready)
    return setup


def k_ticket(page: Any, ctx: Ctx) -> None:
    result = ctx.once("ticket", lambda: ctx.hall.api("POST", "/api/tickets", {"category": "B"})[1])
    _kiosk_go(page, "ticket", {"result": result})
    _wait(page, "[data-testid=ticket-number]")



def _first_item(ctx: Ctx) -> str:
    def make() -> str:
        status, data = ctx.hall.api("GET", "/api/catalog/items?limit=200")
        items = data["items"] if isinstance(data, dict) else data
        assert status == 200 and items, data
        # the item with the most materials: the longest page a citizen meets
        best = max(items, key=lambda it: len(str(it)))
        return str(best["impl_code"])
    return str(ctx.once("item", make))


def k_item(page: Any, ctx: Ctx) -> None:
    _kiosk_go(page, "item", {"code": _first_item(ctx)})
    _wait(page, "[data-testid=item-title]")





def k_suggest(page: Any, ctx: Ctx) -> None:
    _kiosk_go(page, "suggest")
    _wait(page, "[data-testid=reasons] .chip")
    page.get_by_test_id("note-input").click()
    _wait(page, ".suggest-keys [data-testid=keyboard]")


def k_pinyin(page: Any, ctx: Ctx) -> None:
    """The pinyin keyboard with a row of candidates (js/kiosk_pinyin.js)."""
    k_suggest(page, ctx)
    for ch in "TS":
        page.locator(f".suggest-keys [data-testid=keyboard] [data-key='{ch}']").click()
    _wait(page, ".suggest-keys [data-testid=ime-cands][data-q=ts] .ime-cand")



def k_scan_code(page: Any, ctx: Ctx) -> None:
    """The pick-up code after a page was shot under the (emulated) document camera.

    Shot once: the code stays on screen while the cases change size and mode (which is the point), and
    straightening a 1920×1080 frame is the slowest thing here on a loaded machine."""
    if page.locator("[data-testid=scan-code]").count():
        return
    _kiosk_go(page, "scan")
    page.get_by_test_id("shoot").click()
    page.wait_for_selector("[data-testid=scan-code]", state="visible", timeout=3 * STATE_MS)



def k_idle(page: Any, ctx: Ctx) -> None:
    """The 您还在办理吗？ dialog over a half-filled complaint form."""
    _kiosk_go(page, "suggest")
    _wait(page, "[data-testid=reasons] .chip")
    page.locator("[data-testid=reasons] .chip").first.click()
    page.evaluate("window.hallKiosk.idle._ask()")
    _wait(page, "[data-testid=still-there] .modal")


def k_pairing_pad(page: Any, ctx: Ctx) -> None:
    """The pairing pad opened from the footer's 本机未配对 (this kiosk is not paired; js/pairing_pad.js)."""
    _kiosk_go(page, "home")
    page.get_by_test_id("pairing-status").click()
    _wait(page, "[data-testid=pairing-lock] [data-testid=pairing-code]")


KIOSK_STATES: list[tuple[str, Setup]] = [
    ("home", _kiosk_view("home", "[data-testid=tile-take]")),
    ("take", _kiosk_view("take", "[data-testid=cat-A]")),
    ("ticket", k_ticket),
    ("guide", _kiosk_view("guide", "[data-testid=item-list] .item-row")),
    ("item", k_item),
    ("progress", _kiosk_view("progress", "[data-testid=progress-input]")),
    ("appointment", _kiosk_view("appointment", "[data-testid=appt-input]")),
    ("rate", _kiosk_view("rate", ".rate-ways")),
    ("suggest-keyboard", k_suggest),
    ("suggest-pinyin", k_pinyin),
    ("scan", _kiosk_view("scan", ".scan-card")),
    ("scan-code", k_scan_code),
    ("board", _kiosk_view("board", "[data-testid=staff-grid]")),
    ("idle-dialog", k_idle),
    ("pairing-pad", k_pairing_pad),
]


# ------------------------------------------------------------------ agent (village) and station
def _sign_in(page: Any, *, done: str, form: str, fill: dict[str, str], press: tuple[str, ...]) -> None:
    """Signs in through the page's own form (test ids `fill` and `press`) unless `done` already shows."""
    if page.locator(done).count():
        return
    _wait(page, form)
    for testid, value in fill.items():
        page.get_by_test_id(testid).fill(value)
    for testid in press:
        page.get_by_test_id(testid).click()
    _wait(page, done)


def _agent_signed_in(page: Any) -> None:
    _sign_in(page, done="[data-testid=agent-form], .agent-shell", form="[data-testid=agent-login]",
             fill={"agent-login": "qs01", "agent-pin": "246810"}, press=("agent-signin",))


def _agent_tab(tab: str, ready: str = "") -> Setup:
    """The signed-in agent page on one of its tabs; the state is there when `ready` (default: the tab chosen) shows."""
    def setup(page: Any, ctx: Ctx) -> None:
        _agent_signed_in(page)
        page.get_by_test_id(f"tab-{tab}").click()
        _wait(page, ready or f"[data-testid=tab-{tab}][aria-selected=true]")
    return setup


def s_station(page: Any, ctx: Ctx) -> None:
    _wait(page, "[data-testid=on-duty]")


# ------------------------------------------------------------------ staff: clerk, board, evaluator, manager, tech
STAFF_SIZES: list[Size] = [(1366, 768), (1920, 1080)]
# Desk screens (mouse and keyboard, read at arm's length): body ≥ 14 px, notes ≥ 12 px, targets ≥ 24 px
# (WCAG 2.2 target size). The board is read from ten metres and has nothing to press; the evaluator
# tablet is pressed by citizens: 44 px targets.
STAFF_SECONDARY = (".muted, .hint, kbd, .badge, .tab-count, .kpi-note, .field-hint, .hall-sub, .date, .banner, th, "
                   ".note, .paper pre")   # .paper: a printed ticket drawn to scale
STAFF_MINIMA = {"normal": Minima(14, 12, 24, STAFF_SECONDARY)}
BOARD_MINIMA = {"normal": Minima(24, 20, 0, ".hall-sub, .date, .banner, .reason, .tag, .hero-label")}
TABLET_MINIMA = {"normal": Minima(18, 16, 44, ".muted, .hall-sub, .date, .banner")}
TABLET_IDLE = {"normal": Minima(18, 16, 0, ".muted, .hall-sub, .date, .banner")}    # nothing to press when idle
BAD_CHECK_ID = "110105194912310021"     # right length, wrong GB 11643 check digit


def _clerk_signed_in(page: Any) -> None:
    _sign_in(page, done="[data-testid=act-call]", form="[data-testid=staff-id]",
             fill={"staff-id": "1001", "pin": "123456"}, press=("win-1", "login"))


def _clerk_drawer(page: Any, open_: bool) -> None:
    toggle = page.get_by_test_id("case-open")
    if not toggle.is_visible():          # wide screens: registration is a column, always there
        return
    if (toggle.get_attribute("aria-expanded") == "true") != open_:
        toggle.click()
        page.wait_for_selector(f"[data-testid=case-open][aria-expanded={str(open_).lower()}]", timeout=STATE_MS)
    if open_:
        wait_js(page, "getComputedStyle(document.querySelector('.col-case')).transform === 'none'",
                               timeout=STATE_MS)


def _clerk_state(page: Any) -> str:
    return str(page.evaluate("(window.hallClerk.state.snap?.windows.find((w) => w.number === 1)?.current || {}).state"
                             " || 'none'"))


def c_idle(page: Any, ctx: Ctx) -> None:
    _clerk_signed_in(page)
    _clerk_drawer(page, False)
    if _clerk_state(page) != "none":
        page.get_by_test_id("act-finish").click()
    wait_js(page, "document.querySelector('[data-testid=current-number]').classList.contains('cur-none')",
                           timeout=STATE_MS)


def c_serving(page: Any, ctx: Ctx) -> None:
    _clerk_signed_in(page)
    _clerk_drawer(page, False)
    if _clerk_state(page) == "none":
        ctx.hall.api("POST", "/api/tickets", {"category": "A"})
        page.wait_for_selector("[data-testid=act-call]:not([disabled])", timeout=STATE_MS)
        page.get_by_test_id("act-call").click()
        _wait(page, "[data-testid=act-start]:not([disabled])")
    if _clerk_state(page) == "called":
        page.get_by_test_id("act-start").click()
    wait_js(page, "(document.querySelector('[data-testid=current-state]') || {}).className?.includes('ok')",
                           timeout=STATE_MS)


def c_case(page: Any, ctx: Ctx) -> None:
    c_serving(page, ctx)
    _clerk_drawer(page, True)
    _wait(page, "[data-testid=case-submit]")


def c_case_error(page: Any, ctx: Ctx) -> None:
    c_case(page, ctx)
    if page.locator("[data-testid=case-error]").is_visible():
        return
    if not page.get_by_test_id("case-item-chosen").is_visible():
        page.get_by_test_id("case-item").fill("救助")
        page.locator(".suggest-list button").first.click(timeout=STATE_MS)
    page.get_by_test_id("case-name").fill("张桂英")
    page.get_by_test_id("case-cert").fill(BAD_CHECK_ID)
    page.get_by_test_id("case-submit").click()
    _wait(page, "[data-testid=case-error]")


def _busy_hall(ctx: Ctx) -> dict[str, str]:
    """Windows 2–4 signed in, a dozen calls in the history, window 2 paused, a number called at 3."""
    def make() -> dict[str, str]:
        h = ctx.hall
        tokens = {w: h.login(staff, window=w) for w, staff in ((2, "1002"), (3, "1003"), (4, "1004"))}
        cats = {2: "B", 3: "C", 4: "D"}
        for _ in range(4):
            for w, cat in cats.items():
                h.api("POST", "/api/tickets", {"category": cat})
                status, body = h.api("POST", f"/api/windows/{w}/call", {}, tokens[w])
                assert status == 200, body
                h.api("POST", f"/api/windows/{w}/finish", {}, tokens[w])
        for cat in "ABCDEF":
            for _ in range(3):
                h.api("POST", "/api/tickets", {"category": cat})
        assert h.api("POST", "/api/windows/2/pause", {"reason": "临时离岗"}, tokens[2])[0] == 200
        assert h.api("POST", "/api/windows/3/call", {}, tokens[3])[0] == 200
        return {str(w): t for w, t in tokens.items()}
    return dict(ctx.once("busy-hall", make))


def b_busy(page: Any, ctx: Ctx) -> None:
    _busy_hall(ctx)
    wait_js(page, "window.hallBoard && window.hallBoard.live.snapshots > 0", timeout=STATE_MS)
    wait_js(page, "document.querySelector('[data-testid=window-2]').textContent.includes('暂停服务')",
                           timeout=STATE_MS)
    wait_js(page, "document.querySelectorAll('[data-testid=recent] li').length >= 1", timeout=STATE_MS)
    # however long the history, every category's count and every window stay on screen (the fit check
    # then finds none of them cut off)
    assert page.locator("[data-testid=waiting] li").count() == 6
    assert page.locator("[data-testid=windows] .win").count() == 6


def e_idle(page: Any, ctx: Ctx) -> None:
    _wait(page, "[data-testid=idle]")


def e_prompt(page: Any, ctx: Ctx) -> None:
    token = _busy_hall(ctx)["4"]
    if not page.get_by_test_id("levels").is_visible():
        h = ctx.hall
        h.api("POST", "/api/tickets", {"category": "D"})
        h.api("POST", "/api/windows/4/call", {}, token)
        h.api("POST", "/api/windows/4/start", {}, token)
        status, body = h.api("POST", "/api/windows/4/rate-prompt", {}, token)
        assert status in (201, 409), body
    _wait(page, "[data-testid=levels]")


def _staff_signed_in(page: Any, staff_id: str, pin: str) -> None:
    _sign_in(page, done="[role=tablist]", form="[data-testid=staff-id]", fill={"staff-id": staff_id, "pin": pin},
             press=("login",))


def _tab(staff_id: str, pin: str, tab: str) -> Setup:
    def setup(page: Any, ctx: Ctx) -> None:
        _staff_signed_in(page, staff_id, pin)
        page.get_by_test_id(f"tab-{tab}").click()
        _wait(page, f"[data-testid=panel-{tab}]")
        wait_js(page, f"!document.querySelector('[data-testid=panel-{tab}]').textContent.includes('正在加载')",
                               timeout=STATE_MS)
    return setup


MANAGER_TABS = ["live", "month", "perf", "attendance", "roster", "notices", "rectify", "appointments", "cases",
                "broadcast", "faces", "audit"]
TECH_TABS = ["devices", "emulators", "relay", "config", "logs"]
CLERK_STATES: list[tuple[str, Setup]] = [("idle", c_idle), ("serving", c_serving), ("case-open", c_case),
                                         ("validation-error", c_case_error)]

ROWS: list[Row] = [
    *[Row("kiosk", state, "/kiosk", setup, KIOSK_SIZES, KIOSK_MINIMA, axe_skip=("meta-viewport",))
      for state, setup in KIOSK_STATES],
    Row("agent", "form", "/agent", _agent_tab("form", "[data-testid=agent-form]"), AGENT_SIZES, PHONE_MINIMA,
        frame_edge=False),
    *[Row("agent", tab, "/agent", _agent_tab(tab), AGENT_SIZES, PHONE_MINIMA, frame_edge=False)
      for tab in ("ledger", "roster", "drafts")],
    Row("station", "home", "/station/1", s_station, [*PHONE_SIZES, (1280, 720)], PHONE_MINIMA),
    *[Row("clerk", state, "/clerk?window=1", setup, STAFF_SIZES, STAFF_MINIMA, frame_edge=False)
      for state, setup in CLERK_STATES],
    Row("board", "busy-hall", "/board?chime=0", b_busy, [(1920, 1080), (1280, 720)], BOARD_MINIMA),
    Row("evaluator", "idle", "/evaluator/4", e_idle, [(1280, 800), (800, 1280)], TABLET_IDLE),
    Row("evaluator", "prompt", "/evaluator/4", e_prompt, [(1280, 800), (800, 1280)], TABLET_MINIMA),
    *[Row("manager", tab, "/manager", _tab("9001", "hall-8888", tab), STAFF_SIZES, STAFF_MINIMA,
          axe_sizes=(STAFF_SIZES[0],), frame_edge=False) for tab in MANAGER_TABS],
    *[Row("tech", tab, "/tech", _tab("9101", "tech-6666", tab), STAFF_SIZES, STAFF_MINIMA, axe_sizes=(STAFF_SIZES[0],),
          frame_edge=False) for tab in TECH_TABS],
]


# ------------------------------------------------------------------ how a case runs
@dataclass(frozen=True)
class Case:
    row: Row
    size: Size
    mode: str

    @property
    def name(self) -> str:
        return f"{self.row.screen}-{self.row.state}-{self.size[0]}x{self.size[1]}-{self.mode}"


CASES = [Case(r, s, m) for r in ROWS for s in r.sizes for m in r.modes]


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    # the demo hall plus a third kiosk configured to start in 长辈模式
    folder = tmp_path_factory.mktemp("fit")
    config = folder / "hall.toml"
    config.write_text(demo_config_path().read_text(encoding="utf-8")
                      + '\n[[kiosks]]\nid = "k3"\nname = "3号自助终端（老年服务区）"\nprinter = "printer"\n'
                      'large_mode = true\n', encoding="utf-8")
    for h in serve_hall(folder / "data", config):
        # a village with its agent on duty today: the agent and station pages need one
        m = h.login("9001", "hall-8888")
        status, answer = h.api("POST", "/api/village/villages", {
            "name": "青石村", "address": "青石村村部一楼", "phone": "0731-5201234",
            "hours": "工作日 8:30–12:00，14:00–17:30"}, m)
        assert status == 201, answer
        status, answer = h.api("POST", "/api/village/agents", {
            "village_id": answer["id"] if isinstance(answer, dict) and "id" in answer else 1, "login": "qs01",
            "name": "李春花", "duty": "村委委员", "phone": "13812345678", "cert_no": "430224198001011237",
            "pin": "246810"}, m)
        assert status == 201, answer
        today = h.services.clock.today()
        if h.services.calendar.is_workday(today):
            agent = h.api("POST", "/api/village/session", {"login": "qs01", "pin": "246810"})[1]["token"]
            h.api("PUT", "/api/village/roster", {"day": today.isoformat(), "agent_id": answer.get("id", 1)}, agent)
        yield h


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser(scrollbars=True)


class ScreenPages(BrowserPages):
    """One page per screen for the whole module; the minima measured are kept per screen."""

    def __init__(self, browser: Any, hall: Hall) -> None:
        super().__init__(browser, hall, speech=True)
        self.pages: dict[str, Any] = {}
        self.minima: dict[str, dict[str, Any]] = {}

    def page(self, row: Row, size: Size) -> Any:
        if row.screen not in self.pages:
            ctx = self.context({"width": size[0], "height": size[1]})
            self.pages[row.screen] = self.open_in(ctx, row.path, row.screen)
        page = self.pages[row.screen]
        vp = page.viewport_size
        if (vp["width"], vp["height"]) != size:
            page.set_viewport_size({"width": size[0], "height": size[1]})
        return page

    def keep(self, case: Case, found: dict[str, Any]) -> None:
        key = f"{case.row.screen} ({case.mode})"
        m = self.minima.setdefault(key, {"font": None, "target": None, "sizes": []})
        size = f"{case.size[0]}×{case.size[1]}"
        if size not in m["sizes"]:
            m["sizes"].append(size)
        f, t = found["minFont"], found["minTarget"]
        if f and (m["font"] is None or f["px"] < m["font"]["px"]):
            m["font"] = {**f, "case": case.name}
        if t and (m["target"] is None or min(t["w"], t["h"]) < min(m["target"]["w"], m["target"]["h"])):
            m["target"] = {**t, "case": case.name}


@pytest.fixture(scope="module")
def screens(browser: Any, hall: Hall) -> Iterator[ScreenPages]:
    pages = ScreenPages(browser, hall)
    yield pages
    MINIMA_OUT.parent.mkdir(parents=True, exist_ok=True)
    MINIMA_OUT.write_text(json.dumps(pages.minima, ensure_ascii=False, indent=1), encoding="utf-8")
    for key, m in sorted(pages.minima.items()):
        print(f"\n{key}: sizes {', '.join(m['sizes'])}; smallest font {m['font']}; smallest target {m['target']}")
    pages.close()


@pytest.fixture(scope="module")
def ctx(hall: Hall) -> Ctx:
    return Ctx(hall)


def _set_mode(page: Any, row: Row, mode: str) -> None:
    """长辈模式 on the screens that have it: pressed through its own toggle, as a citizen would."""
    toggle = page.locator("[data-testid=toggle-large]")
    if not toggle.count():
        assert mode == "normal", f"{row.screen} has no 长辈模式 toggle"
        return
    want = "true" if mode == "large" else "false"
    if toggle.get_attribute("aria-pressed") != want:
        page.evaluate("document.querySelectorAll('.modal-back').forEach((m) => m.remove())")
        toggle.click()
        page.wait_for_selector(f"[data-testid=toggle-large][aria-pressed={want}]", timeout=STATE_MS)


# What can change with the viewport alone: axe runs every rule at a state's first size and these at the others.
AXE_LAYOUT_RULES = ["scrollable-region-focusable", "color-contrast", "meta-viewport", "region", "nested-interactive"]


def _axe(page: Any, skip: tuple[str, ...], *, full: bool) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    only = None if full else [r for r in AXE_LAYOUT_RULES if r not in skip]
    rules = {r: {"enabled": False} for r in skip}
    result = page.evaluate("""async ([rules, only]) => {
        const opts = { rules, resultTypes: ["violations"] };
        if (only) opts.runOnly = { type: "rule", values: only };
        const r = await axe.run(document, opts);
        return r.violations.filter((v) => v.impact === "critical" || v.impact === "serious").map((v) => ({
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " " + (n.failureSummary || "").split("\\n")[1])}));
    }""", [rules, only])
    return [f"axe {v['impact']} {v['id']} ({v['help']}): " + " | ".join(v["nodes"]) for v in result]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_screen_fits(case: Case, screens: ScreenPages, ctx: Ctx) -> None:
    row, minima = case.row, case.row.modes[case.mode]
    errors_before = len(screens.errors)
    page = screens.page(row, case.size)
    if row.screen == "kiosk":
        # a dialog (idle question, pairing pad) from the previous case must not hide the toggles
        page.evaluate("window.hallKiosk && window.hallKiosk.idle.poke();"
                      "document.querySelector('[data-testid=pairing-close]')?.click()")
    _set_mode(page, row, case.mode)
    row.setup(page, ctx)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    found = page.evaluate(MEASURE, {"bodyMin": minima.body, "secondaryMin": minima.secondary,
                                    "secondary": minima.secondary_selector, "targetMin": minima.target,
                                    "scrollHint": SCROLL_HINT, "frameEdge": row.frame_edge})
    FIT_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(FIT_SHOTS / f"{case.name}.png"))
    screens.keep(case, found)
    problems: list[str] = []
    if found["hscroll"]:
        problems.append(f"horizontal scrolling: {found['hscroll']}")
    for key, what in [("clipped", "text clipped"), ("offscreen", "out of view"), ("overlaps", "overlap"),
                      ("covered", "covered"), ("underChrome", "under the footer/header"),
                      ("smallText", "text too small"), ("smallTargets", "target too small")]:
        problems += [f"{what}: {p}" for p in found[key]]
    # axe: every rule at a state's first size (or its axe_sizes), the layout-dependent rules at the others
    # unless the row limits axe to its axe_sizes
    if row.axe_sizes is None:
        problems += _axe(page, row.axe_skip, full=case.size == row.sizes[0])
    elif case.size in row.axe_sizes:
        problems += _axe(page, row.axe_skip, full=True)
    where = f"{row.screen} / {row.state} at {case.size[0]}×{case.size[1]} ({case.mode})"
    assert not problems, f"{where}: {len(problems)} problem(s)\n  " + "\n  ".join(problems[:40])
    assert found["counts"]["text"] > 0, f"{where}: nothing measured"
    assert found["counts"]["targets"] > 0 or minima.target == 0, f"{where}: no targets measured"
    assert screens.errors[errors_before:] == [], f"{where}: page errors"


def test_cases_cover_the_issue_sizes() -> None:
    """The table holds the sizes the halls use (issue 12 item 1) for the screens this module checks."""
    kiosk = {c.size for c in CASES if c.row.screen == "kiosk"}
    assert kiosk == set(KIOSK_SIZES) and {c.mode for c in CASES if c.row.screen == "kiosk"} == {"normal", "large"}
    assert {c.size for c in CASES if c.row.screen == "agent"} == {(360, 740), (390, 844), (1024, 768)}
    assert all(re.fullmatch(r"[a-z0-9-]+", c.name) for c in CASES)


# ------------------------------------------------------------------ 长辈模式 as a kiosk's configured default
def _large(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.classList.contains('large')"))


@pytest.mark.parametrize(("path", "default"), [("/kiosk/k3", True), ("/kiosk/k1", False)])
def test_idle_reset_returns_to_the_kiosks_configured_large_mode(screens: ScreenPages, path: str, default: bool) -> None:
    """k3 is configured `large_mode = true`: it starts large and its idle reset brings 长辈模式 back after a
    citizen switched it off; k1 (no setting, hall default off) resets to normal after a citizen switched it on."""
    page = screens.open_in(screens.context({"width": 1920, "height": 1080}), f"{path}?idle=2", path)
    page.wait_for_selector("[data-testid=tile-take]")
    assert _large(page) is default
    assert page.get_by_test_id("toggle-large").get_attribute("aria-pressed") == str(default).lower()
    page.get_by_test_id("toggle-large").click()
    assert _large(page) is not default
    page.get_by_test_id("tile-guide").click()
    # no touch for 2 s: back home, 长辈模式 as configured again
    wait_js(page, "document.body.dataset.view === 'home'", timeout=STATE_MS)
    wait_js(page, f"document.documentElement.classList.contains('large') === {str(default).lower()}",
                           timeout=STATE_MS)
    assert page.get_by_test_id("toggle-large").get_attribute("aria-pressed") == str(default).lower()


# ------------------------------------------------------------------ finish (issue 12 item 6, kiosk part)
@pytest.fixture
def kiosk(screens: ScreenPages) -> Any:
    page = screens.open_in(screens.context({"width": 1920, "height": 1080}), "/kiosk", "kiosk-finish")
    page.wait_for_selector("[data-testid=tile-take]")
    return page


def test_scan_keeps_the_pick_up_code_on_screen_until_the_citizen_leaves(kiosk: Any, hall: Hall) -> None:
    kiosk.get_by_test_id("tile-scan").click()
    kiosk.get_by_test_id("shoot").click()
    code = kiosk.get_by_test_id("scan-code")
    code.wait_for()
    text = code.inner_text().strip()
    assert re.fullmatch(r"\d{6}", text)
    # the scan was saved under that code: the window finds it by what the citizen tells
    assert list(hall.services.data_dir.rglob(f"*kiosk-{text}*")), "no scan saved under the shown code"
    # still there after the 4 s the old toast lasted: this waits on purpose, persistence is what is tested
    assert kiosk.locator("[data-testid=toast]:visible").count() == 0
    kiosk.evaluate("() => new Promise((r) => setTimeout(r, 4500))")
    assert code.is_visible() and code.inner_text().strip() == text
    kiosk.get_by_test_id("scan-finish").click()
    kiosk.wait_for_selector("[data-testid=tile-take]")
    assert kiosk.locator("[data-testid=scan-code]").count() == 0


def test_idle_dialog_and_footer_count_the_same_seconds(kiosk: Any) -> None:
    kiosk.get_by_test_id("tile-suggest").click()
    kiosk.locator("[data-testid=reasons] .chip").first.click()
    kiosk.evaluate("window.hallKiosk.idle._ask()")
    kiosk.wait_for_selector("[data-testid=still-there] .modal")
    for _ in range(2):      # at the start and after the dialog has counted one second
        numbers = kiosk.evaluate("""() => [document.querySelector('[data-testid=countdown]').textContent,
                                          document.querySelector('[data-testid=still-there] p').textContent]""")
        first = [re.search(r"\d+", t) for t in numbers]
        assert all(first) and first[0].group() == first[1].group(), numbers   # type: ignore[union-attr]
        wait_js(kiosk, f"!document.querySelector('[data-testid=still-there] p').textContent"
                                f".startsWith('{first[1].group()} ')")   # type: ignore[union-attr]
    kiosk.get_by_text("继续办理").click()
