"""Working-day deadlines: China's holiday calendar, the 2027 gap, and the hall's own list."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hall.records.workdays import CalendarError, WorkCalendar

# The State Council's 2027 notice is not in chinese-calendar 1.11; this stands in for it in tests.
LIST_2027 = {
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", "2027-02-05", "2027-02-08", "2027-02-09",
                 "2027-02-10", "2027-02-11", "2027-10-01", "2027-10-04"],
    "workdays": ["2027-02-06", "2027-02-20"],
    "source": "测试用安排",
}


def test_package_year_counts_national_day_and_adjusted_workdays() -> None:
    cal = WorkCalendar(None)
    # Tue 29 Sep 2026 + 3: Wed 30 Sep, (1–7 Oct off), Thu 8 Oct, Fri 9 Oct.
    d = cal.add_workdays(date(2026, 9, 29), 3)
    assert d.date == date(2026, 10, 9) and not d.estimated and d.note == ""
    # Sunday 20 Sep 2026 is an adjusted workday (调休上班); Friday 25 Sep is Mid-Autumn.
    assert cal.is_workday(date(2026, 9, 20)) and not cal.is_workday(date(2026, 9, 25))


def test_counting_starts_the_day_after_and_zero_is_same_day() -> None:
    cal = WorkCalendar(None)
    assert cal.add_workdays(date(2026, 11, 25), 3).date == date(2026, 11, 30)   # Wed → Mon
    assert cal.add_workdays(date(2026, 11, 28), 1).date == date(2026, 11, 30)   # Sat → Mon
    assert cal.add_workdays(date(2026, 11, 25), 0).date == date(2026, 11, 25)


def test_deadline_across_new_year_2027_falls_back_to_weekdays_and_says_so() -> None:
    cal = WorkCalendar(None)
    # 15 working days from Wed 16 Dec 2026 reaches 2027, which the package does not know.
    d = cal.add_workdays(date(2026, 12, 16), 15)
    assert d.date == date(2027, 1, 6)       # 1 Jan 2027 (Friday) counted as a working day: Mon–Fri guess
    assert d.estimated and d.estimated_years == (2027,)
    assert "2027年" in d.note and "周一至周五" in d.note
    assert d.as_dict() == {"date": "2027-01-06", "estimated": True, "note": d.note}
    assert not cal.known(2027) and cal.known(2026)


def test_hall_list_for_2027_takes_over_and_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    cal = WorkCalendar(path)
    cal.set_year(2027, LIST_2027)
    d = cal.add_workdays(date(2026, 12, 16), 15)
    assert d.date == date(2027, 1, 7) and not d.estimated     # 1 Jan is now a holiday
    assert cal.is_workday(date(2027, 2, 6))                    # Saturday workday
    assert not cal.is_workday(date(2027, 2, 8))
    # The file survives a restart and is plain JSON a technician can read.
    again = WorkCalendar(path)
    assert again.known(2027) and again.add_workdays(date(2026, 12, 16), 15).date == date(2027, 1, 7)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["years"]["2027"]["source"] == "测试用安排"


def test_hall_list_overrides_the_package_for_a_known_year(tmp_path: Path) -> None:
    cal = WorkCalendar(tmp_path / "holidays.json")
    assert cal.is_workday(date(2026, 12, 31))
    cal.set_year(2026, {"holidays": ["2026-01-01", "2026-12-31"], "workdays": []})
    assert not cal.is_workday(date(2026, 12, 31))


def test_file_edited_by_hand_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    cal = WorkCalendar(path)
    assert not cal.known(2027)
    path.write_text(json.dumps({"version": 1, "years": {"2027": LIST_2027}}), encoding="utf-8")
    assert cal.known(2027)


def test_broken_file_keeps_last_good_list(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    cal = WorkCalendar(path)
    cal.set_year(2027, LIST_2027)
    path.write_text('{"years": {"2027": {"holidays": ["2027-13-01"]}}}', encoding="utf-8")
    import os
    os.utime(path, (1, 1))   # make sure the mtime differs from the last load
    assert not cal.is_workday(date(2027, 1, 1))   # still the good list


@pytest.mark.parametrize("bad", [
    {"holidays": ["2026-01-01"]},                                   # wrong year
    {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]},       # both
    {"holidays": ["2027-01-01"], "workdays": ["2027-01-04"]},       # a Monday is always a workday
    {"holidays": []},                                               # empty
    {"holidays": ["1 Jan"]},                                        # not a date
])
def test_implausible_lists_are_refused(tmp_path: Path, bad: dict[str, object]) -> None:
    cal = WorkCalendar(tmp_path / "holidays.json")
    with pytest.raises(CalendarError):
        cal.set_year(2027, bad)
    assert not (tmp_path / "holidays.json").exists()


def test_time_limit_units() -> None:
    cal = WorkCalendar(None)
    start = date(2026, 11, 25)
    assert cal.add_time_limit(start, 5, "工作日").date == date(2026, 12, 2)
    assert cal.add_time_limit(start, 10, "天").date == date(2026, 12, 7)     # Sat 5 Dec → Mon 7 Dec
    assert cal.add_time_limit(start, 1, "月").date == date(2026, 12, 25)
    # 31 Jan + 1 month = 28 Feb 2026, a Saturday but an adjusted workday (春节调休).
    assert cal.add_time_limit(date(2026, 1, 31), 1, "月").date == date(2026, 2, 28)
    # 17 Jan + 1 month lands in the Spring Festival holiday: moves to the next working day.
    assert cal.add_time_limit(date(2026, 1, 17), 1, "月").date == date(2026, 2, 24)
    assert cal.add_time_limit(start, 0, "天").date == start
    with pytest.raises(ValueError):
        cal.add_time_limit(start, 3, "周")


def test_count_workdays_both_directions() -> None:
    cal = WorkCalendar(None)
    assert cal.count_workdays(date(2026, 9, 29), date(2026, 10, 9)) == (3, False)
    assert cal.count_workdays(date(2026, 10, 9), date(2026, 9, 29)) == (-3, False)
    n, est = cal.count_workdays(date(2026, 12, 30), date(2027, 1, 5))
    assert (n, est) == (4, True)
