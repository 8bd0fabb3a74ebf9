"""Pinyin candidates for the kiosk keyboard (hall.ime.candidates) and their route.

The word list is jieba's dictionary with pypinyin readings (scripts/build_ime_data.py);
these tests hold the ranking to what a citizen needs: the word meant within the first
five candidates for full pinyin and for initials, the hall's words before homophones.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from hall.ime.candidates import MAX_CANDIDATES, Lexicon, clean


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return Lexicon()


def texts(lex: Lexicon, typed: str, n: int = 5) -> list[str]:
    page, _ = lex.candidates(typed, limit=n)
    return [c.text for c in page]


@pytest.mark.parametrize(("typed", "word", "within"), [
    ("tousu", "投诉", 1), ("ts", "投诉", 5), ("taidu", "态度", 1), ("td", "态度", 5),
    ("chuangkou", "窗口", 1), ("ck", "窗口", 5), ("renyuan", "人员", 1), ("ry", "人员", 5),
    ("dibao", "低保", 1), ("db", "低保", 10), ("hen", "很", 1), ("hao", "好", 1),
    ("zhengfu", "政府", 1), ("lv", "绿", 5), ("nv", "女", 5), ("shenqing", "申请", 1),
    ("chuangk", "窗口", 1), ("tous", "投诉", 1),
])
def test_the_word_meant_is_among_the_first_candidates(lex: Lexicon, typed: str, word: str, within: int) -> None:
    assert word in texts(lex, typed, within), texts(lex, typed, 10)


def test_ranking_follows_frequency_and_the_hall_vocabulary(lex: Lexicon) -> None:
    # 低保 (a catalogue word) outranks its homophone 地堡, which a general dictionary ranks first.
    top = texts(lex, "dibao", 3)
    assert top.index("低保") < top.index("地堡")
    # A whole-syllable match comes before a longer syllable it is the start of: xian → 先 before 想 (xiang).
    xian = texts(lex, "xian", 30)
    assert "先" in xian[:3] and ("想" not in xian or xian.index("先") < xian.index("想"))
    # Candidates that stand for the whole input come first, then words for its first syllables.
    page, _ = lex.candidates("chuangkourenyuan", limit=20)
    assert page[0].text == "窗口" and page[0].take == len("chuangkou")
    assert all(c.take <= len("chuangkourenyuan") for c in page)
    whole = lex.candidates("tousu", limit=1)[0][0]
    assert whole.text == "投诉" and whole.take == 5


def test_segmentation_uses_whole_syllables_first(lex: Lexicon) -> None:
    segs = lex.segmentations("xian")
    assert [t.text for t in segs[0]] == ["xian"]
    assert ["xi", "an"] in [[t.text for t in s] for s in segs]
    assert lex.segmentations("v") == [] and lex.candidates("v")[0] == []
    assert [t.text for t in lex.segmentations("zhs")[0]] == ["zh", "s"]


def test_pages_do_not_repeat_and_end(lex: Lexicon) -> None:
    seen: list[str] = []
    offset, more = 0, True
    while more:
        page, more = lex.candidates("shi", offset=offset, limit=8)
        seen += [c.text for c in page]
        offset += 8
    assert len(seen) == len(set(seen)) and 8 < len(seen) <= MAX_CANDIDATES


def test_input_is_cleaned_and_bounded(lex: Lexicon) -> None:
    assert clean("Tou SU'1ü") == "tousuv"
    assert clean("TOU su") == "tousu"
    assert clean("x" * 100) == "x" * 30
    t = time.perf_counter()
    lex.lookup.cache_clear()
    lex.candidates("xian" * 7 + "v")        # many splits, none reaching the end: pruned, not explored
    lex.candidates("a" * 30)
    assert time.perf_counter() - t < 5       # generous: a bound on work, not a speed target


# ------------------------------------------------------------------ the route
@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    from hall.config.loader import demo_config_path, load_config
    from hall.services import build_services
    from hall.web.app import create_app

    svc = build_services(load_config(demo_config_path()), tmp_path_factory.mktemp("ime"), with_devices=False)
    app = create_app(svc)
    yield app.test_client()
    svc.stop()


def test_route_answers_a_page_anonymously_and_may_be_cached(client: FlaskClient) -> None:
    r = client.get("/api/ime/candidates?q=ts&limit=5")
    assert r.status_code == 200
    body = r.get_json()
    assert body["q"] == "ts" and body["offset"] == 0 and body["more"] is True
    assert "投诉" in [c["text"] for c in body["candidates"]] and all(c["take"] == 2 for c in body["candidates"])
    assert "max-age" in r.headers["Cache-Control"]
    nxt = client.get("/api/ime/candidates?q=ts&limit=5&offset=5").get_json()
    assert not {c["text"] for c in nxt["candidates"]} & {c["text"] for c in body["candidates"]}
    assert client.get("/api/ime/candidates").get_json()["candidates"] == []
    assert client.get("/api/ime/candidates?q=%E4%BD%A0%E5%A5%BD").get_json()["candidates"] == []   # not pinyin


@pytest.mark.parametrize("query", ["limit=0", "limit=31", "offset=-1", "offset=x", "q=" + "a" * 61])
def test_route_rejects_bad_arguments_in_chinese(client: FlaskClient, query: str) -> None:
    r = client.get(f"/api/ime/candidates?{query}")
    assert r.status_code == 400
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.get_json()["error"]["message"])
