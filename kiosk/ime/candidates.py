"""Word candidates for pinyin typed on the kiosk's touch keyboard.

Citizens type full pinyin (`tousu`), initials (`ts`) or a mix (`chuangk`), without tones
and without separators. The letters are split into syllable tokens in every way the
pinyin syllable inventory allows (`xian` → xian | xi·an); a token is a whole syllable,
an initial (b … zh ch sh … w, which also matches the zh/ch/sh syllables when typed as
z/c/s), or — the last one only — the start of a syllable still being typed.

Candidates, in the order offered:
1. words whose syllables match all the tokens, the last syllable typed in full first
   (`xian` offers 先 before 想), each group by word frequency;
2. then words covering only the first tokens (`chuangkouren` offers 窗口, then 窗),
   longest cover first, so an IME user can take a word and type on: each candidate says
   how many letters it `take`s from the input.

Frequencies come from jieba's dictionary, with the hall's own vocabulary (catalogue,
reasons) raised at build time; the lookup reads the SQLite file through an index and
keeps nothing but a small LRU cache of recent answers in memory (~1–2 MB with
SQLite's page cache, measured after 300 lookups; nothing until the first one).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "words.sqlite"
MAX_INPUT = 30               # letters; longer input is cut (a citizen types a word or two at a time)
MAX_CANDIDATES = 120         # per input, across pages
MAX_SEGMENTATIONS = 12
PER_QUERY = 60
INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r",
            "z", "c", "s", "y", "w")
_LETTERS = re.compile(r"[^a-z]")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    full: bool               # a whole syllable (matched exactly unless it is the last token)


@dataclass(frozen=True, slots=True)
class Candidate:
    text: str
    take: int                # letters of the input this candidate stands for
    freq: int

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "take": self.take}


def clean(typed: str) -> str:
    """What the lookup sees: lower-case a–z only (ü typed as v), at most MAX_INPUT letters."""
    return _LETTERS.sub("", typed.lower().replace("ü", "v"))[:MAX_INPUT]


class Lexicon:
    """The word list on disk, opened read-only; thread-safe (one connection per thread)."""

    def __init__(self, path: Path = DATA) -> None:
        self.path = path
        self._local = threading.local()
        db = self._db()
        self.syllables = frozenset(db.execute("SELECT value FROM meta WHERE key = 'syllables'").fetchone()[0].split())
        self._prefixes = frozenset(s[:i] for s in self.syllables for i in range(1, len(s) + 1))
        self.lookup = lru_cache(maxsize=64)(self._lookup)      # a few people's typing; ~1 MB at most

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            db.execute("PRAGMA cache_size = -512")            # KiB: the index pages of recent lookups suffice
            self._local.db = db
        return db

    # ------------------------------------------------------------ splitting the letters
    def segmentations(self, letters: str) -> list[list[Token]]:
        """Ways to split `letters` into tokens, fewest tokens (most whole syllables) first."""
        out: list[list[Token]] = []
        n = len(letters)

        def token(i: int, j: int) -> Token | None:
            piece = letters[i:j]
            if piece in self.syllables:
                return Token(piece, True)
            if piece in INITIALS or (j == n and piece in self._prefixes):
                return Token(piece, False)
            return None

        # ends[i]: the end can be reached from i (so the walk below never explores dead ends,
        # which would be exponential on long input that fails only at its last letter).
        ends = [False] * n + [True]
        for i in range(n - 1, -1, -1):
            ends[i] = any(ends[j] and token(i, j) for j in range(i + 1, min(n, i + 6) + 1))

        def walk(i: int, acc: list[Token]) -> None:
            if len(out) >= MAX_SEGMENTATIONS * 4:
                return
            if i == n:
                out.append(list(acc))
                return
            for j in range(min(n, i + 6), i, -1):
                t = token(i, j) if ends[j] else None
                if t is not None:
                    acc.append(t)
                    walk(j, acc)
                    acc.pop()

        walk(0, [])
        out.sort(key=lambda seg: (len(seg), sum(not t.full for t in seg)))
        return out[:MAX_SEGMENTATIONS]

    # ------------------------------------------------------------ looking words up
    def _words(self, tokens: list[Token], *, last_open: bool) -> list[tuple[str, str, int]]:
        """Words whose syllables match `tokens` one for one: (word, full reading, freq)."""
        initials = "".join(t.text[0] for t in tokens)
        parts = []
        for k, t in enumerate(tokens):
            open_end = not t.full or (last_open and k == len(tokens) - 1)
            parts.append(t.text + ("*" if open_end else ""))
        pattern = "'".join(parts)
        rows = self._db().execute(
            "SELECT word, full, freq FROM words WHERE initials = ? AND full GLOB ? ORDER BY freq DESC LIMIT ?",
            (initials, pattern, PER_QUERY)).fetchall()
        return [(str(w), str(f), int(n)) for w, f, n in rows]

    def _lookup(self, letters: str) -> tuple[Candidate, ...]:
        if not letters:
            return ()
        segs = self.segmentations(letters)
        if not segs:
            return ()
        exact: dict[str, Candidate] = {}
        extended: dict[str, Candidate] = {}
        for seg in segs:
            last = seg[-1]
            for word, full, freq in self._words(seg, last_open=True):
                group = exact if not last.full or full.rsplit("'", 1)[-1] == last.text else extended
                if word not in group or group[word].freq < freq:
                    group[word] = Candidate(word, len(letters), freq)
        ranked = sorted(exact.values(), key=lambda c: -c.freq)
        ranked += sorted((c for w, c in extended.items() if w not in exact), key=lambda c: -c.freq)
        seen = {c.text for c in ranked}
        best = segs[0]
        for k in range(len(best) - 1, 0, -1):
            head = best[:k]
            take = sum(len(t.text) for t in head)
            part = [Candidate(w, take, f) for w, _, f in self._words(head, last_open=False) if w not in seen]
            seen.update(c.text for c in part)
            ranked += part
            if len(ranked) >= MAX_CANDIDATES:
                break
        return tuple(ranked[:MAX_CANDIDATES])

    def candidates(self, typed: str, *, offset: int = 0, limit: int = 8) -> tuple[list[Candidate], bool]:
        """One page of candidates for `typed`, and whether more follow."""
        found = self.lookup(clean(typed))
        page = list(found[offset:offset + limit])
        return page, offset + limit < len(found)


# dup-ok: the same lazy once-only opening as drivers/camera/capture.py cv2_module, for another object
_lexicon: Lexicon | None = None
_lock = threading.Lock()


def lexicon() -> Lexicon:
    """The shared lexicon, opened on first use (a service that nobody types into never opens it)."""
    global _lexicon
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                _lexicon = Lexicon()
    return _lexicon
