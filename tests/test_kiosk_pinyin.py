"""The kiosk's pinyin keyboard in a real Chromium against the demo hall: a citizen writes a
complaint in Chinese by touch (taps counted), finds 低保 in the guide by typing it, pages
candidates, uses the symbols page, and in 长辈模式 every key is at least 60×60 px.

One server and one browser for the module; each test opens its own page.
"""

from __future__ import annotations

from typing import Any

from tests.browser_support import BROWSER_MARKS, LANDSCAPE, BrowserPages, Hall, browser_hall, shot, wait_js

pytestmark = BROWSER_MARKS

SENTENCE = "窗口人员态度很好"
# How a citizen would go at it: one word at a time, with its pinyin (what the test "knows").
WORDS = [("窗口", "chuang kou"), ("人员", "ren yuan"), ("态度", "tai du"), ("很", "hen"), ("好", "hao")]


hall, browser, pages = browser_hall("pinyin")


def open_kiosk(pages: BrowserPages, viewport: dict[str, int] = LANDSCAPE, name: str = "kiosk") -> Any:
    page = pages.open_in(pages.context(viewport), "/kiosk?idle=600", name)
    page.wait_for_selector("body[data-view=home]")
    return page


class Typist:
    """Taps keys and candidates like a person, and counts every tap."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.taps = 0
        self.log: list[str] = []       # word:letters typed for it
        self.kb = page.locator("[data-testid=keyboard][data-ime]")

    def tap(self, locator: Any) -> None:
        locator.click()
        self.taps += 1

    def key(self, k: str) -> None:
        self.tap(self.kb.locator(f"[data-key='{k}']"))

    def buffer(self) -> str:
        text: str = self.kb.get_by_test_id("ime-buffer").inner_text()
        return text

    def candidates(self, letters: str) -> list[str]:
        """The candidate row once it answers for `letters` (waits on the page's state, not on time)."""
        wait_js(self.page,
            """(q) => document.querySelector('[data-testid=keyboard][data-ime] [data-testid=ime-cands]')
                        .dataset.q === q""", arg=letters)
        texts: list[str] = self.kb.get_by_test_id("ime-cand").all_inner_texts()
        return texts

    def word(self, word: str, pinyin: str) -> None:
        """Initials first (ck for 窗口); if the word is not offered, go on with the full pinyin."""
        syllables = pinyin.split()
        plans = ["".join(s[0] for s in syllables), "".join(syllables)]
        typed = ""
        for plan in plans:
            while not plan.startswith(typed):    # take back only the letters the next plan does not share
                self.key("backspace")
                typed = typed[:-1]
            for ch in plan[len(typed):]:
                self.key(ch.upper())
                typed += ch
                offered = self.candidates(typed)
                if word in offered:
                    self.tap(self.kb.get_by_test_id("ime-cand").nth(offered.index(word)))
                    wait_js(self.page,
                        "() => document.querySelector('[data-testid=ime-buffer]').textContent === ''")
                    self.log.append(f"{word}:{typed}")
                    return
        raise AssertionError(f"{word} never offered for {pinyin}")


def test_a_complaint_is_written_in_chinese_by_touch(pages: BrowserPages, hall: Hall) -> None:
    page = open_kiosk(pages, name="kiosk-complaint")
    page.get_by_test_id("tile-suggest").click()
    page.get_by_test_id("note-input").click()
    t = Typist(page)
    for word, pinyin in WORDS:
        t.word(word, pinyin)
    note = page.get_by_test_id("note-input")
    assert note.input_value() == SENTENCE
    print(f"\n'{SENTENCE}' by touch: {t.taps} taps ({' '.join(t.log)})")
    assert t.taps <= 30
    shot(page, "kiosk-pinyin-complaint")
    page.get_by_test_id("suggest-submit").click()
    page.get_by_test_id("thanks").wait_for()
    manager = hall.login("9001", "hall-8888")
    status, body = hall.api("GET", "/api/complaints", token=manager)
    assert status == 200 and SENTENCE in [c.get("text") for c in body["complaints"]]


def test_guide_search_by_typed_hanzi_and_by_initials(pages: BrowserPages) -> None:
    page = open_kiosk(pages, name="kiosk-guide-search")
    page.get_by_test_id("tile-guide").click()
    page.get_by_test_id("guide-search").click()
    t = Typist(page)
    t.word("低保", "di bao")
    assert page.get_by_test_id("search-input").input_value() == "低保"
    wait_js(page, "() => document.querySelector('[data-testid=item-list] .item-row')")
    assert "最低生活保障" in page.get_by_test_id("item-list").inner_text()
    # Initials still find it without choosing hanzi: the pending pinyin is searched too.
    t.tap(page.locator("[data-testid=keyboard] [data-key=clear]"))
    for ch in "DBSQ":
        t.key(ch)
    wait_js(page, "() => (document.querySelector('[data-testid=item-list]')?.innerText || '')"
                           ".includes('最低生活保障')")
    shot(page, "kiosk-pinyin-guide-search")


def test_candidates_page_by_touch_and_symbols_type_directly(pages: BrowserPages) -> None:
    page = open_kiosk(pages, name="kiosk-pinyin-pages")
    page.get_by_test_id("tile-suggest").click()
    page.get_by_test_id("note-input").click()
    t = Typist(page)
    for ch in "SHI":
        t.key(ch)
    first = t.candidates("shi")
    # Pinyin typed but no hanzi chosen yet is typing: the idle countdown asks before clearing.
    assert page.get_by_test_id("note-input").input_value() == ""
    assert page.evaluate("window.hallKiosk.idle.busy()") is True
    assert page.locator("[data-key=ime-prev]").is_hidden()
    t.key("ime-next")
    wait_js(page, "(a) => document.querySelector('[data-testid=ime-cand]').textContent !== a", arg=first[0])
    second = page.get_by_test_id("ime-cand").all_inner_texts()
    assert second and not set(first) & set(second)
    t.key("ime-prev")
    wait_js(page, "(a) => document.querySelector('[data-testid=ime-cand]').textContent === a", arg=first[0])
    t.key("space")                         # 空格 takes the first candidate
    assert page.get_by_test_id("note-input").input_value() == first[0]
    t.key("ime-symbols")
    for k in ("1", "2", "，", "？"):
        t.key(k)
    assert page.get_by_test_id("note-input").input_value() == first[0] + "12，？"
    t.key("backspace")
    assert page.get_by_test_id("note-input").input_value() == first[0] + "12，"
    t.key("ime-symbols")                  # back to letters; 英 types letters as they are
    t.key("ime-mode")
    t.key("A")
    assert page.get_by_test_id("note-input").input_value() == first[0] + "12，a"


def test_large_mode_keys_are_at_least_60px(pages: BrowserPages) -> None:
    """Both pages of keys, candidates showing. (tests/test_screen_fit.py's kiosk/suggest-pinyin row
    checks the other sizes, portrait and 1366×768, for fit, overlap and type size.)"""
    viewport = LANDSCAPE
    page = open_kiosk(pages, viewport, name="kiosk-pinyin-large")
    page.get_by_test_id("toggle-large").click()
    page.get_by_test_id("tile-suggest").click()
    page.get_by_test_id("note-input").click()
    t = Typist(page)
    for ch in "TS":
        t.key(ch)
    t.candidates("ts")
    small = []
    for layout in ("letters", "symbols"):
        for b in page.locator("[data-testid=keyboard][data-ime] button:visible").all():
            box = b.bounding_box()
            if box["width"] < 60 or box["height"] < 60:
                small.append((layout, b.inner_text(), round(box["width"]), round(box["height"])))
            right = box["x"] + box["width"]
            assert right <= viewport["width"], (layout, b.inner_text(), right)
        t.key("ime-symbols")
    assert small == []
    shot(page, "kiosk-pinyin-large-landscape")
