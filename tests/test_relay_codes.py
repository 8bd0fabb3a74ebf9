"""The satisfaction code trap (DESIGN.md §4): both numberings pinned, both directions."""

from __future__ import annotations

import pytest
from hall.relay import codes

# Written out by hand from the two standards; do not derive one from the other.
PROVINCIAL = [("非常不满意", 1), ("不满意", 2), ("基本满意", 3), ("满意", 4), ("非常满意", 5)]
GBT39046 = [("非常满意", 1), ("满意", 2), ("基本满意", 3), ("不满意", 4), ("非常不满意", 5)]


@pytest.mark.parametrize("level, code", PROVINCIAL)
def test_provincial_both_directions(level: str, code: int) -> None:
    assert codes.to_provincial(level) == code
    assert codes.from_provincial(code) == level


@pytest.mark.parametrize("level, code", GBT39046)
def test_gbt39046_both_directions(level: str, code: int) -> None:
    assert codes.to_gbt39046(level) == code
    assert codes.from_gbt39046(code) == level


def test_the_two_numberings_run_opposite_ways() -> None:
    assert codes.to_provincial("非常满意") == 5 and codes.to_gbt39046("非常满意") == 1
    assert codes.to_provincial("非常不满意") == 1 and codes.to_gbt39046("非常不满意") == 5


def test_levels_best_first_and_bad_levels() -> None:
    assert codes.LEVELS == ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
    assert [codes.is_bad(lv) for lv in codes.LEVELS] == [False, False, False, True, True]


@pytest.mark.parametrize("bad", ["很满意", "", "5", "satisfied"])
def test_unknown_level_names_are_refused(bad: str) -> None:
    with pytest.raises(codes.UnknownLevel):
        codes.to_provincial(bad)
    with pytest.raises(codes.UnknownLevel):
        codes.to_gbt39046(bad)


@pytest.mark.parametrize("bad", [0, 6, -1, True, "3", 3.0])
def test_unknown_codes_are_refused(bad: object) -> None:
    with pytest.raises(codes.UnknownLevel):
        codes.from_provincial(bad)  # type: ignore[arg-type]
    with pytest.raises(codes.UnknownLevel):
        codes.from_gbt39046(bad)  # type: ignore[arg-type]
