"""Announcement text → what the speech engine should be given.

The queue engine's `ticket.called` event carries the display text
("请A001号到3号窗口办理", a recall adds "（重呼）"). Spoken as is, espeak-ng reads
"001" as a whole number and Latin letters in English. Halls read ticket numbers
digit by digit ("A零零一号"), window numbers as numbers ("三号窗口", "十二号窗口"),
so `speech_text` rewrites:

* the ticket number → its letters spaced out, digits as 零一二三四五六七八九;
* any other run of digits → a Chinese numeral (0..9999) or digit by digit beyond;
* words the engine's dictionary reads with the wrong tone (重呼 is chóng hū,
  not zhòng hū) → tone-numbered pinyin, which the `cmn-latn-pinyin` voice reads.

Full-width brackets become a pause (，).
"""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"

# Polyphones the engine gets wrong in announcements, as tone-numbered pinyin.
PRONUNCIATION: dict[str, str] = {
    "重呼": "chong2 hu1",
    "重新": "chong2 xin1",
    "重号": "chong2 hao4",
}

_TICKET = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,3})(\d{1,6})(?![0-9])")
_NUMBER = re.compile(r"\d+")
_BRACKETS = str.maketrans({"（": "，", "）": "，", "(": "，", ")": "，", "【": "，", "】": "，"})


def spell_digits(digits: str) -> str:
    return "".join(DIGITS[int(d)] for d in digits)


def chinese_number(n: int) -> str:
    """0..9999 as spoken: 3 → 三, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五, 2000 → 两千."""
    if n < 0 or n > 9999:
        return spell_digits(str(n))
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "十" + (DIGITS[n % 10] if n % 10 else "")
    units = [(1000, "千"), (100, "百"), (10, "十")]
    out, zero = "", False
    rest = n
    for value, name in units:
        d, rest = divmod(rest, value)
        if d:
            if zero:
                out += "零"
            out += ("两" if d == 2 and value >= 1000 else DIGITS[d]) + name
            zero = False
        elif out:
            zero = True
    if rest:
        out += ("零" if zero else "") + DIGITS[rest]
    return out


def spell_ticket(number: str) -> str:
    """'A001' → 'A 零零一' (letters upper-case and spaced so the engine reads them as letters)."""
    m = re.fullmatch(r"([A-Za-z]*)(\d*)", number.strip())
    if not m:
        return number
    letters, digits = m.groups()
    parts = [ch.upper() for ch in letters]
    if digits:
        parts.append(spell_digits(digits))
    return " ".join(parts)


def speech_text(text: str, number: str | None = None) -> str:
    """The announcement as the speech engine should read it."""
    out = text
    if number and number in out:
        out = out.replace(number, f" {spell_ticket(number)} ")
    out = _TICKET.sub(lambda m: f" {spell_ticket(m.group(0))} ", out)
    out = _NUMBER.sub(lambda m: chinese_number(int(m.group(0))) if len(m.group(0)) <= 4
                      else spell_digits(m.group(0)), out)
    for word, pinyin in PRONUNCIATION.items():
        out = out.replace(word, f" {pinyin} ")
    out = out.translate(_BRACKETS)
    out = re.sub(r"\s+", " ", out)
    out = re.sub(r"\s*，\s*", "，", out)
    return out.strip(" ，")
