"""Build the kiosk pinyin keyboard's word list and the QR decoder's common-hanzi list from jieba's dictionary.

Run by a developer when the dictionary should change (the outputs are committed, so
set-up, the tests and the .deb/Windows builds need neither jieba nor a network):

    python -m venv /tmp/ime && /tmp/ime/bin/pip install jieba==0.42.1 pypinyin
    /tmp/ime/bin/python scripts/build_ime_data.py

Why jieba: its dict.txt (MIT licence, ~349k words) is the most widely used open Chinese
word list that carries a frequency per word, from a large mixed corpus (news, web,
People's Daily). pypinyin (already a dependency; MIT) gives each word's reading with
its phrase dictionary, so polyphones inside words come out right (银行 yin'hang,
行走 xing'zou); a single character gets every reading it has.

Outputs
- kiosk/ime/data/words.sqlite: one row per (word, reading): initials ("ts"), full
  reading with syllables joined by "'" ("tou'su"), word, frequency. Words of 2–4 hanzi
  at or above MIN_WORD_FREQ, plus every single GB2312 hanzi of the dictionary; words
  the hall's own texts use (catalogue, reasons, kiosk screen text) count up to 10× more. Read-only at run
  time, looked up through an index, so nothing of it stays in the service's memory.
- drivers/camera/common_hanzi.txt: the COMMON_HANZI most frequent characters, counted
  over the whole dictionary (each word's frequency credited to each of its characters).
  The QR decoder uses it to tell Chinese text from Japanese bytes read as Chinese.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sqlite3
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS_DB = ROOT / "kiosk" / "ime" / "data" / "words.sqlite"
COMMON_TXT = ROOT / "drivers" / "camera" / "common_hanzi.txt"
MIN_WORD_FREQ = 30        # drops ~80% of jieba's long tail (rare names, place names, idioms)
COMMON_HANZI = 2500       # about the size of 现代汉语常用字表's 常用字 (2,500)
SECONDARY_READING = 0.05  # a single hanzi's other readings rank well below its main one
HALL_BOOST_CAP = 9        # a word of the hall's own texts counts at most 10× its dictionary frequency
_HANZI = re.compile(r"^[\u4e00-\u9fff]+$")
_SYLLABLE = re.compile(r"^[a-z]+$")


def jieba_dict() -> Path:
    import jieba

    return Path(os.path.dirname(jieba.__file__)) / "dict.txt"


def read_dict(path: Path) -> dict[str, int]:
    words: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and _HANZI.match(parts[0]):
            words[parts[0]] = max(words.get(parts[0], 0), int(parts[1]))
    return words


def char_frequency(words: dict[str, int]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for w, f in words.items():
        for c in w:
            counts[c] += f
    return counts


def hall_vocabulary(words: dict[str, int]) -> collections.Counter[str]:
    """How often each dictionary word occurs in the hall's own texts: the demo service catalogue,
    the rating/complaint reasons and the kiosk's screen text. A kiosk in a service hall is typed
    into about these things (投诉, 低保, 窗口, 态度), so they outrank general words of the same
    reading (低保 over 地堡), by a bounded factor."""
    import jieba

    texts = [ROOT / "kiosk" / "records" / "data" / "catalog.json", ROOT / "kiosk" / "records" / "data" / "reasons.json",
             ROOT / "screens" / "static" / "i18n" / "kiosk.js"]
    counts: collections.Counter[str] = collections.Counter()
    for path in texts:
        for run in re.findall(r"[\u4e00-\u9fff]+", path.read_text(encoding="utf-8")):
            for w in jieba.cut(run, HMM=False):
                if len(w) >= 2 and w in words:
                    counts[w] += 1
    return counts


def boosted(freq: int, uses: int) -> int:
    return (freq + 100) * (1 + min(uses, HALL_BOOST_CAP)) if uses else freq


def rows(words: dict[str, int], chars: collections.Counter[str],
         hall: collections.Counter[str]) -> list[tuple[str, str, str, int]]:
    from pypinyin import Style, lazy_pinyin, pinyin

    out: list[tuple[str, str, str, int]] = []
    for c, total in chars.items():
        try:
            c.encode("gb2312")      # simplified characters in common use; drops traditional and rare forms
        except UnicodeEncodeError:
            continue
        # A hanzi's own rank: its use as a word of its own, and a little of its use inside words
        # (窗 is rarely a word by itself but must still be reachable).
        freq = max(words.get(c, 0) + total // 20, 1)
        readings = pinyin(c, style=Style.NORMAL, heteronym=True)[0]
        seen: list[str] = []
        for r in readings:
            r = r.replace("ü", "v")
            if _SYLLABLE.match(r) and r not in seen:
                seen.append(r)
        for i, r in enumerate(seen):
            out.append((r[0], r, c, freq if i == 0 else max(int(freq * SECONDARY_READING), 1)))
    for w, f in words.items():
        if not 2 <= len(w) <= 4 or (f < MIN_WORD_FREQ and w not in hall):
            continue
        syl = [s.replace("ü", "v") for s in lazy_pinyin(w, style=Style.NORMAL)]
        if len(syl) != len(w) or not all(_SYLLABLE.match(s) for s in syl):
            continue
        out.append(("".join(s[0] for s in syl), "'".join(syl), w, boosted(f, hall[w])))
    return out


def write_db(path: Path, data: list[tuple[str, str, str, int]], source: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.executescript("""
        PRAGMA page_size = 4096;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE words (initials TEXT NOT NULL, full TEXT NOT NULL, word TEXT NOT NULL, freq INTEGER NOT NULL,
                            PRIMARY KEY (initials, freq, word, full)) WITHOUT ROWID;
    """)
    db.executemany("INSERT OR IGNORE INTO words VALUES (?, ?, ?, ?)", sorted(data))
    syllables = " ".join(sorted({s for _, full, _, _ in data for s in full.split("'")}))
    db.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("syllables", syllables), ("source", source), ("licence", "jieba dict.txt: MIT; readings: pypinyin (MIT)"),
        ("min_word_freq", str(MIN_WORD_FREQ)), ("hall_boost_cap", str(HALL_BOOST_CAP)), ("rows", str(len(data)))])
    db.commit()
    db.execute("VACUUM")
    db.close()
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dict", type=Path, help="jieba dict.txt (default: the installed jieba's)")
    args = ap.parse_args()
    path = args.dict or jieba_dict()
    words = read_dict(path)
    chars = char_frequency(words)
    hall = hall_vocabulary(words)
    data = rows(words, chars, hall)
    WORDS_DB.parent.mkdir(parents=True, exist_ok=True)
    write_db(WORDS_DB, data, f"jieba 0.42.1 {path.name}")
    common = "".join(c for c, _ in chars.most_common(COMMON_HANZI))
    COMMON_TXT.write_text(
        "# The 2,500 most frequent hanzi in jieba's dict.txt (MIT), by scripts/build_ime_data.py.\n"
        + "\n".join(common[i:i + 50] for i in range(0, len(common), 50)) + "\n", encoding="utf-8")
    print(f"{WORDS_DB.relative_to(ROOT)}: {len(data)} rows, {WORDS_DB.stat().st_size // 1024} KB; "
          f"{COMMON_TXT.relative_to(ROOT)}: {len(common)} hanzi")


if __name__ == "__main__":
    main()
