"""Search of the service guide by Chinese text and by pinyin, for a touchscreen keypad.

Citizens type what an on-screen keypad lets them type: a few hanzi, pinyin
initials (`dbsq` → 低保申请), full pinyin (`dibaoshenqing`) or a mix
(`dibaosq`), with or without spaces. So each searchable name is turned into a
sequence of tokens, one per character, each carrying every reading of that
character (heteronyms included: 参 can/cen/shen, 长 chang/zhang), and a query
matches a run of tokens when each token takes a non-empty prefix of one of its
readings. Initials and full pinyin are then the same rule, and a reading the
phrase dictionary gets wrong still matches through its other readings.

Ranking, highest first: the whole name, a run at the start of the name, a run
inside it, then (queries of three letters or more) the initials spread out
over the name, e.g. `dbsq` inside 最低生活保障申请 when it has no alias.
pypinyin costs ~0.4 s to import and is only imported when an index is built,
which the catalog store does off the request threads. Its character table then
held ~10 MB for the life of the service, for the few hundred characters a
catalog uses: an index now looks all of them up at once and lets pypinyin go.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hall.memory import give_back_free_memory

# Scores: higher is a better match.
EXACT = 100
CODE = 95
PREFIX = 90
INSIDE = 70
DEPARTMENT = 45
SPREAD = 40

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DROP_RE = re.compile(r"[\s'’·\-_]+")


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, no spaces or apostrophes (`Di Bao` → `dibao`)."""
    return _DROP_RE.sub("", unicodedata.normalize("NFKC", text)).lower()


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def _lean_pypinyin() -> None:
    """Skip pypinyin's phrase dictionary (~45 MB resident): we read one character at a time,
    every reading of it (heteronym=True), so phrase context is never used. The variables are
    read by pypinyin at import, so this must run before the first import."""
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")


_READINGS: dict[str, tuple[str, ...]] = {}   # hanzi → readings, kept after pypinyin is let go
_PINYIN_LOCK = threading.Lock()                 # one look-up (import … unload) at a time


def _pinyin_readings(ch: str) -> tuple[str, ...]:
    """Every toneless reading of one character; `v` and `u` both stand for ü."""
    from pypinyin import Style, pinyin

    out: list[str] = []
    for reading in pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")[0]:
        for r in (reading, reading.replace("v", "u"), reading.replace("ü", "u")):
            if r and r.isascii() and r not in out:
                out.append(r)
    return tuple(out)


def learn_readings(texts: Iterable[str]) -> None:
    """Look up every new hanzi of `texts`, then unload pypinyin and hand the freed memory back.

    A catalog needs a few hundred of the table's 41,000 characters, and a new index is built
    only when a new catalog arrives, so importing pypinyin again then (~0.4 s) is cheaper than
    keeping ~10 MB resident all day.
    """
    with _PINYIN_LOCK:
        missing = {ch for t in texts for ch in unicodedata.normalize("NFKC", t) if has_cjk(ch)} - _READINGS.keys()
        if not missing:
            return
        _lean_pypinyin()
        try:
            for ch in missing:
                _READINGS[ch] = _pinyin_readings(ch)
        finally:
            for name in [m for m in sys.modules if m == "pypinyin" or m.startswith("pypinyin.")]:
                del sys.modules[name]
            give_back_free_memory()


def _readings(ch: str) -> tuple[str, ...]:
    if not has_cjk(ch):
        return ()
    if ch not in _READINGS:
        learn_readings([ch])
    return _READINGS[ch]


def tokens(name: str) -> tuple[tuple[str, ...], ...]:
    """One token per hanzi, letter or digit (with its readings); punctuation is dropped."""
    result: list[tuple[str, ...]] = []
    for ch in unicodedata.normalize("NFKC", name):
        if has_cjk(ch):
            r = _readings(ch)
            if r:
                result.append(r)
        elif ch.isascii() and ch.isalnum():
            result.append((ch.lower(),))
    return tuple(result)


def _advance(readings: tuple[str, ...], q: str, positions: set[int], *, any_prefix: bool) -> set[int]:
    """Query positions reachable after one token eats a prefix (or the initial or whole) of a reading."""
    out: set[int] = set()
    n = len(q)
    for p in positions:
        if p >= n:
            continue
        ch = q[p]
        for r in readings:
            if r[0] != ch:
                continue
            if any_prefix:
                k = 1
                out.add(p + 1)
                while k < len(r) and p + k < n and r[k] == q[p + k]:
                    k += 1
                    out.add(p + k)
            else:
                out.add(p + 1)
                if q.startswith(r, p):
                    out.add(p + len(r))
    return out


def _runs(toks: Sequence[tuple[str, ...]], q: str) -> tuple[bool, bool]:
    """(from the first token, anywhere): does `q` spell a run of consecutive tokens?

    Sets of reachable query positions move over the tokens once, like an NFA,
    so a match costs tokens × |q| steps, whatever the name's length.
    """
    n = len(q)
    head: set[int] = {0}        # runs that began at the first token
    anywhere: set[int] = {0}    # runs that may begin at any token
    for readings in toks:
        if head:
            head = _advance(readings, q, head, any_prefix=True)
            if n in head:
                return True, True
        anywhere = _advance(readings, q, anywhere, any_prefix=True)
        if n in anywhere:
            return False, True
        anywhere.add(0)
    return False, False


def _covers_all(toks: Sequence[tuple[str, ...]], q: str) -> bool:
    """`q` spells the whole name, each token by its initial or its full reading."""
    positions: set[int] = {0}
    for readings in toks:
        positions = _advance(readings, q, positions, any_prefix=False)
        if not positions:
            return False
    return len(q) in positions


def _spread(initials: Sequence[frozenset[str]], q: str) -> bool:
    """Initials of `q` found in order, with gaps (`dbsq` in 最低生活保障申请)."""
    qi = 0
    for letters in initials:
        if q[qi] in letters:
            qi += 1
            if qi == len(q):
                return True
    return False


def pinyin_score(toks: Sequence[tuple[str, ...]], q: str,
                 initials: Sequence[frozenset[str]] | None = None) -> int:
    if not toks or not q:
        return 0
    if _covers_all(toks, q):
        return EXACT
    head, anywhere = _runs(toks, q)
    if head:
        return PREFIX
    if anywhere:
        return INSIDE
    if len(q) >= 3:
        letters = initials if initials is not None else [frozenset(r[0] for r in t) for t in toks]
        if _spread(letters, q):
            return SPREAD
    return 0


def text_score(n: str, q: str) -> int:
    """Score of query `q` against a name `n`, both already normalized."""
    if not n or not q:
        return 0
    if n == q:
        return EXACT
    if n.startswith(q):
        return PREFIX
    if q in n:
        return INSIDE
    # 低保申请 in 最低生活保障申请: every character, in order.
    if len(q) >= 2:
        it = iter(n)
        if all(ch in it for ch in q):
            return SPREAD
    return 0


@dataclass(frozen=True)
class Entry:
    key: str                                   # the item's impl_code
    names: tuple[str, ...]                     # name, short name, aliases (normalized)
    codes: tuple[str, ...]                     # impl_code, basic_code
    department: str
    name_tokens: tuple[tuple[tuple[str, ...], ...], ...]
    name_initials: tuple[tuple[frozenset[str], ...], ...]
    name_letters: tuple[frozenset[str], ...]    # every letter of every reading: a cheap first filter
    department_tokens: tuple[tuple[str, ...], ...]


class SearchIndex:
    """Pinyin tokens of every item's names, built once per catalog version."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str], Sequence[str], str]]) -> None:
        self._entries: list[Entry] = []
        self._cache: dict[str, dict[str, int]] = {}
        entries = list(entries)
        learn_readings(t for _k, names, _c, department in entries for t in (*names, department))
        for key, names, codes, department in entries:
            clean = tuple(dict.fromkeys(n for n in names if n))
            toks = tuple(tokens(n) for n in clean)
            self._entries.append(Entry(
                key=key, names=tuple(normalize(n) for n in clean), codes=tuple(normalize(c) for c in codes if c),
                department=normalize(department),
                name_tokens=toks,
                name_initials=tuple(tuple(frozenset(r[0] for r in t) for t in tk) for tk in toks),
                name_letters=tuple(frozenset(ch for t in tk for r in t for ch in r) for tk in toks),
                department_tokens=tokens(department),
            ))

    def __len__(self) -> int:
        return len(self._entries)

    def scores(self, query: str) -> dict[str, int]:
        """impl_code → score (> 0) for every matching item (recent queries are remembered)."""
        q = normalize(query)
        if not q:
            return {}
        hit = self._cache.get(q)
        if hit is None:
            hit = self._score(q)
            if len(self._cache) >= 512:
                self._cache.clear()
            self._cache[q] = hit
        return dict(hit)

    def _score(self, q: str) -> dict[str, int]:
        out: dict[str, int] = {}
        cjk = has_cjk(q)
        for e in self._entries:
            best = 0
            if any(c == q for c in e.codes) or (len(q) >= 6 and any(c.startswith(q) for c in e.codes)):
                best = CODE
            if cjk:
                best = max([best, *(text_score(n, q) for n in e.names)])
                if q in e.department:
                    best = max(best, DEPARTMENT)
            elif q.isalnum():
                letters = set(q)
                names = zip(e.name_tokens, e.name_initials, e.name_letters, strict=True)
                best = max([best, *(pinyin_score(t, q, i) for t, i, la in names if letters <= la)])
                if best < DEPARTMENT and len(q) >= 2 and _runs(e.department_tokens, q)[0]:
                    best = DEPARTMENT
                if best == 0:
                    best = max([0, *(text_score(n, q) for n in e.names)])  # Latin letters or digits in a name
            if best > 0:
                out[e.key] = best
        # Letters spread over a long name are a last resort: shown only when nothing matches better.
        if any(v > SPREAD for v in out.values()):
            out = {k: v for k, v in out.items() if v > SPREAD}
        return out
