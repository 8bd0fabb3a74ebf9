"""Satisfaction levels and their numeric codes: the one place they are converted.

Inside the hall a rating's level is its name (非常满意 … 非常不满意), never a
number, because the two numberings in use run in opposite directions
(DESIGN.md §4, "code trap"):

=============  =======================  ======================
level          provincial 好差评 code    GB/T 39046-2020 A.8
=============  =======================  ======================
非常满意        5                        1
满意            4                        2
基本满意        3                        3
不满意          2                        4
非常不满意      1                        5
=============  =======================  ======================

The county interface (kiosk/relay/county-api.yaml) takes the provincial 好差评 code;
the GB/T 39046 numbering is what the national data exchange and exports use.
Both tables are spelled out literally below (no arithmetic such as ``6 - n``),
so a reviewer can compare them with the standards line by line, and the tests
pin every entry in both directions.
"""

from __future__ import annotations

from typing import Final

#: The five levels, best first.
LEVELS: Final[tuple[str, ...]] = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")

#: Levels that count as 差评: they need a reason and open a rectification.
BAD_LEVELS: Final[frozenset[str]] = frozenset({"不满意", "非常不满意"})

#: Provincial 好差评 interface: 1 = 非常不满意 … 5 = 非常满意.
PROVINCIAL: Final[dict[str, int]] = {
    "非常满意": 5,
    "满意": 4,
    "基本满意": 3,
    "不满意": 2,
    "非常不满意": 1,
}

#: GB/T 39046-2020 appendix A.8 (满意度): 1 = 非常满意 … 5 = 非常不满意.
GBT39046: Final[dict[str, int]] = {
    "非常满意": 1,
    "满意": 2,
    "基本满意": 3,
    "不满意": 4,
    "非常不满意": 5,
}

_FROM_PROVINCIAL: Final[dict[int, str]] = {v: k for k, v in PROVINCIAL.items()}
_FROM_GBT39046: Final[dict[int, str]] = {v: k for k, v in GBT39046.items()}


class UnknownLevel(ValueError):
    """A level name or code outside the five known ones."""


def _check(level: str) -> str:
    if level not in PROVINCIAL:
        raise UnknownLevel(f"未知的满意度等级 {level!r}（应为 {'、'.join(LEVELS)} 之一）")
    return level


# dup-ok: two code systems (provincial 1-5, GB/T 39046 A.8) each with its to/from pair, below
def to_provincial(level: str) -> int:
    """The provincial 好差评 code of a level name (非常满意 → 5)."""
    return PROVINCIAL[_check(level)]


def from_provincial(code: int) -> str:
    """The level name of a provincial 好差评 code (5 → 非常满意)."""
    if type(code) is not int or code not in _FROM_PROVINCIAL:
        raise UnknownLevel(f"未知的好差评代码 {code!r}（应为 1–5）")
    return _FROM_PROVINCIAL[code]


# dup-ok: GB/T 39046 A.8's to/from pair, shaped like the provincial pair above
def to_gbt39046(level: str) -> int:
    """The GB/T 39046 A.8 number of a level name (非常满意 → 1)."""
    return GBT39046[_check(level)]


def from_gbt39046(code: int) -> str:
    """The level name of a GB/T 39046 A.8 number (1 → 非常满意)."""
    if type(code) is not int or code not in _FROM_GBT39046:
        raise UnknownLevel(f"未知的 GB/T 39046 满意度代码 {code!r}（应为 1–5）")
    return _FROM_GBT39046[code]


def is_bad(level: str) -> bool:
    """True for a 差评 (不满意, 非常不满意)."""
    return _check(level) in BAD_LEVELS
