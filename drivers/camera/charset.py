"""Which character set a QR code's bytes were written in, when the code does not say.

A byte-mode QR code without an ECI marker carries bytes only. Chinese county systems
write UTF-8 or GB18030; Japanese phones and printers wrote Shift-JIS for years, and a
hall's document camera meets both (a citizen's phone, a parcel slip). Most Shift-JIS
byte strings are also valid GB18030 (and the other way round for short ones), so
"decodes without error" cannot choose. What does: the *plausibility* of each reading,
the share of its non-ASCII bytes that make characters a writer of that language uses
commonly —

- GB18030 reading: one of the 2,500 most frequent hanzi (common_hanzi.txt, counted
  from jieba's dictionary by scripts/build_ime_data.py) or CJK/full-width punctuation.
  Japanese read as GB18030 gives rare GBK hanzi (偺, 僶, 乕…).
- Shift-JIS reading: kana, JIS X 0208 level-1 kanji (the common ones, lead bytes
  0x88–0x98) and JIS punctuation; half-width katakana only where they are well formed
  (a voicing mark after a kana that takes one, a long-vowel mark after a kana).
  Chinese read as Shift-JIS gives loose half-width katakana or level-2 kanji.
- ISO-8859-1 (QR's own default, and zxing-cpp's guess for Western text): accented
  letters next to ASCII letters.

- UTF-8 reading (when the bytes are valid UTF-8): any character of three bytes or more
  (hanzi, kana) — random bytes almost never form those; two-byte characters (accented
  Latin, Cyrillic…) only inside a word of their own script, because two GB18030 bytes
  are often valid two-byte UTF-8 (一住 → "һס").

Order: the most plausible reading, ties going to UTF-8, then the hall's fallback
charset (GB18030), then Shift-JIS, then ISO-8859-1. GB18030 hanzi count in two tiers
(the 1,000 most frequent fully, the next 1,500 at 0.6) so that Japanese half-width
katakana with well-placed voicing marks (ﾃﾞｻﾞｲﾝ) can outweigh the middling hanzi
the same bytes make in GB18030 (棉晦草).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

SHIFT_JIS = "cp932"          # Shift-JIS as Windows and Japanese phones wrote it (NEC/IBM extensions)
LATIN1 = "latin-1"
UTF8 = "utf-8"

_HALFWIDTH_VOICEABLE = set("ｳｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎ")
_HALFWIDTH_SEMIVOICEABLE = set("ﾊﾋﾌﾍﾎ")
_HALFWIDTH_KANA = {chr(c) for c in range(0xFF66, 0xFF9E)}          # ｦ … ﾝ (letters, not marks)


@lru_cache(maxsize=1)
def hanzi_rank() -> dict[str, int]:
    """Rank (0 = most frequent) of the 2,500 most frequent hanzi; about 20 KB in memory."""
    path = Path(__file__).with_name("common_hanzi.txt")
    text = path.read_text(encoding="utf-8")
    chars = [c for line in text.splitlines() if not line.startswith("#") for c in line.strip()]
    return {c: i for i, c in enumerate(chars)}


def _is_punct(c: str) -> bool:
    o = ord(c)
    return 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E or unicodedata.category(c).startswith("P")


def _gb_weight(c: str) -> float:
    rank = hanzi_rank().get(c)
    if rank is not None:
        return 1.0 if rank < 1000 else 0.6
    if _is_punct(c):
        return 1.0
    if "\u4e00" <= c <= "\u9fff":
        return 0.3
    return 0.1 if c.isprintable() else 0.0


def _utf8_weight(text: str, i: int) -> float:
    """Only two-byte UTF-8 (U+0080–U+07FF: Latin accents, Greek, Cyrillic, Hebrew, Arabic) is in
    doubt: two GB18030 bytes often happen to form one. An accented letter inside a Latin word, or
    a letter among letters of its own script, is plausible; a lone one between scripts is not."""
    c = text[i]
    if ord(c) >= 0x800:
        return 1.0
    if not c.isalpha():
        return 0.3
    script = unicodedata.name(c, "?").split(" ")[0]
    near = [text[j] for j in (i - 1, i + 1) if 0 <= j < len(text)]
    if any(n.isascii() and n.isalpha() for n in near) and script == "LATIN":
        return 1.0
    if any(n.isalpha() and not n.isascii() and unicodedata.name(n, "?").split(" ")[0] == script for n in near):
        return 0.6
    return 0.2


def _sjis_weight(text: str, i: int) -> float:
    c = text[i]
    o = ord(c)
    prev = text[i - 1] if i else ""
    if 0x3041 <= o <= 0x30FF or (_is_punct(c) and o < 0xFF61):
        return 1.0                                                    # kana, ー, 、。「」
    # Half-width katakana: Chinese GB18030 bytes read as Shift-JIS are mostly these, so a loose
    # one counts little; the marks that only fit after the right kana are the real evidence.
    if c in "ﾞﾟ":                                                    # voicing marks
        ok = prev in (_HALFWIDTH_VOICEABLE if c == "ﾞ" else _HALFWIDTH_SEMIVOICEABLE)
        return 1.0 if ok else 0.0
    if c == "ｰ":                                                      # long vowel mark: after a kana
        return 1.0 if prev in _HALFWIDTH_KANA else 0.0
    if "ｧ" <= c <= "ｯ":                                               # small kana: after a kana
        return 0.5 if prev in _HALFWIDTH_KANA else 0.0
    if c in _HALFWIDTH_KANA:
        return 0.5
    if "｡" <= c <= "･":                                               # ｡｢｣､･
        return 0.5
    if "\u4e00" <= c <= "\u9fff":
        try:
            lead = c.encode(SHIFT_JIS)[0]
        except UnicodeEncodeError:
            return 0.1
        return 1.0 if 0x88 <= lead <= 0x98 else 0.3                 # JIS X 0208 level 1 / level 2
    if 0xE000 <= o <= 0xF8FF:
        return 0.0                                                    # user-defined area: not text
    return 0.1 if c.isprintable() else 0.0


def _latin1_weight(text: str, i: int) -> float:
    c = text[i]
    if "\u00c0" <= c <= "\u00ff" and c not in "×÷":
        near = text[max(i - 1, 0):i + 2]
        return 0.9 if any(ch.isascii() and ch.isalpha() for ch in near) else 0.4
    if "\u00a0" <= c <= "\u00bf":
        return 0.3
    return 0.0


def plausibility(text: str, charset: str) -> float:
    """Share (0–1) of the non-ASCII bytes of `text` in `charset` that form commonly used characters."""
    total = 0
    score = 0.0
    for i, c in enumerate(text):
        if c.isascii():
            continue
        n = len(c.encode(charset, errors="replace"))
        total += n
        if charset == SHIFT_JIS:
            w = _sjis_weight(text, i)
        elif charset == UTF8:
            w = _utf8_weight(text, i)
        elif charset == LATIN1:
            w = _latin1_weight(text, i)
        else:
            w = _gb_weight(c)
        score += w * n
    return score / total if total else 1.0


def guess_text(raw: bytes, *, fallback_charset: str = "gb18030", library_text: str | None = None) -> str | None:
    """The most plausible reading of ECI-less, non-ASCII `raw`, or None if no candidate decodes.

    `library_text` is the decoder's own reading (zxing-cpp's guess); it takes part as the
    ISO-8859-1 candidate when it is exactly that reading of the bytes."""
    candidates: list[tuple[str, str]] = []
    for charset in dict.fromkeys((UTF8, fallback_charset, SHIFT_JIS)):
        try:
            candidates.append((raw.decode(charset), charset))
        except (UnicodeDecodeError, LookupError):
            pass
    if library_text is not None:
        try:
            if library_text.encode(LATIN1) == raw:
                candidates.append((library_text, LATIN1))
        except UnicodeEncodeError:
            pass
    best: tuple[float, str] | None = None
    for text, charset in candidates:                  # in preference order: strict ">" keeps ties on the earlier
        s = plausibility(text, charset)
        if best is None or s > best[0]:
            best = (s, text)
    # A reading with no plausible character at all (e.g. 0xFF bytes as cp932's private-use
    # area) explains nothing: the caller keeps the bytes as the library read them.
    return best[1] if best and best[0] > 0 else None
