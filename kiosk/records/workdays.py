"""Working days for promised finish dates (承诺办结时限) and rectification deadlines.

China's working days are not Monday–Friday: the State Council moves days each
year (holidays plus adjusted Saturday/Sunday workdays, 调休). The calendar
answers, in this order of precedence:

1. the hall's own list for the year (`holidays.json` in the data folder,
   written by the county sync or by the technician from the State Council's
   notice, published each November);
2. the `chinese-calendar` package (it knows 2004–2026 in version 1.11 and
   raises NotImplementedError for any later date: DESIGN.md §10);
3. Monday–Friday, and the answer says so (`Deadline.estimated`), so every
   screen that shows such a date can mark it "按周一至周五估算".

Counting follows administrative practice: a limit of N working days starts the
day after acceptance, so 3 working days from a Wednesday end on the Monday.
A limit in calendar days, months or years whose last day is not a working day
moves to the next working day (民法典 §203).
"""

from __future__ import annotations

import calendar
import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import chinese_calendar
from hall.records.util import atomic_write_text

log = logging.getLogger(__name__)

FILE_NAME = "holidays.json"
Unit = Literal["天", "工作日", "月", "年"]
UNITS: tuple[str, ...] = ("天", "工作日", "月", "年")
Source = Literal["hall", "package", "weekday"]

# Counting more than this many days ahead means a bad time limit, not a real deadline.
_MAX_SPAN_DAYS = 3 * 366 + 10


@dataclass(frozen=True)
class Deadline:
    """A computed date and whether any year it passes through lacked an official list."""

    date: date
    estimated_years: tuple[int, ...] = ()

    @property
    def estimated(self) -> bool:
        return bool(self.estimated_years)

    @property
    def note(self) -> str:
        """What a screen shows next to the date ("" when it is exact)."""
        if not self.estimated_years:
            return ""
        years = "、".join(str(y) for y in self.estimated_years)
        return f"{years}年法定节假日安排尚未导入，按周一至周五估算，以实际安排为准"

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "estimated": self.estimated, "note": self.note}


@dataclass(frozen=True)
class YearList:
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""
    updated_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
            "source": self.source,
            "updated_at": self.updated_at,
        }


class CalendarError(ValueError):
    """A holiday list that cannot be right (dates outside the year, a day both off and on…)."""


def parse_year_list(year: int, data: Any) -> YearList:
    """Validate one year's list as it comes from the file, the county or the technician."""
    if not isinstance(data, dict):
        raise CalendarError(f"{year}年：节假日安排须为对象 {{holidays, workdays}}")
    sets: dict[str, frozenset[date]] = {}
    for key in ("holidays", "workdays"):
        raw = data.get(key, [])
        if not isinstance(raw, list):
            raise CalendarError(f"{year}年：{key} 须为日期列表")
        days: set[date] = set()
        for item in raw:
            try:
                d = date.fromisoformat(str(item))
            except ValueError as exc:
                raise CalendarError(f"{year}年：{key} 中的“{item}”不是 YYYY-MM-DD 日期") from exc
            if d.year != year:
                raise CalendarError(f"{year}年：{key} 中的 {d} 不属于该年")
            days.add(d)
        sets[key] = frozenset(days)
    both = sets["holidays"] & sets["workdays"]
    if both:
        raise CalendarError(f"{year}年：{min(both)} 同时列为节假日和调休上班日")
    weekday_workdays = sorted(d for d in sets["workdays"] if d.weekday() < 5)
    if weekday_workdays:
        raise CalendarError(f"{year}年：调休上班日 {weekday_workdays[0]} 是周一至周五，本来就上班")
    if not sets["holidays"]:
        raise CalendarError(f"{year}年：节假日列表为空（至少应有元旦、春节、国庆）")
    return YearList(sets["holidays"], sets["workdays"], str(data.get("source", ""))[:200],
                    str(data.get("updated_at", ""))[:40])


class WorkCalendar:
    """Which days are working days, from the hall's list, the package, or Monday–Friday."""

    def __init__(self, override_file: Path | None = None) -> None:
        self.path = override_file
        self._lock = threading.Lock()
        self._years: dict[int, YearList] = {}
        self._mtime: float | None = None
        self._package_years: dict[int, bool] = {}
        self._load()

    # ------------------------------------------------------------------ the hall's list
    def _load(self) -> None:
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._years, self._mtime = {}, None
            return
        if self._mtime == st.st_mtime:
            return
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            years = {int(y): parse_year_list(int(y), v) for y, v in (doc.get("years") or {}).items()}
        except (OSError, ValueError, AttributeError) as exc:
            # Keep the last good list: a broken file must not change deadlines silently.
            log.error("holiday list %s is unreadable, keeping the previous one: %s", self.path, exc)
            self._mtime = st.st_mtime
            return
        self._years, self._mtime = years, st.st_mtime
        log.info("holiday list loaded for years %s", sorted(years))

    def set_year(self, year: int, data: dict[str, Any]) -> YearList:
        """Install one year's official list (county sync or technician); validated, written atomically."""
        if self.path is None:
            raise CalendarError("未配置节假日文件位置")
        parsed = parse_year_list(year, data)
        with self._lock:
            self._load()
            years = dict(self._years)
            years[year] = parsed
            doc = {"version": 1, "years": {str(y): years[y].as_json() for y in sorted(years)}}
            atomic_write_text(self.path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
            self._years = years
            self._mtime = self.path.stat().st_mtime
        return parsed

    def years(self) -> dict[str, Any]:
        """For the technician: which years come from where."""
        with self._lock:
            self._load()
            hall = {y: v.source for y, v in self._years.items()}
        return {"hall": hall, "package": [y for y in range(2004, 2100) if self._package_knows(y)]}

    # ------------------------------------------------------------------ single days
    def _package_knows(self, year: int) -> bool:
        known = self._package_years.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:
                known = False
            self._package_years[year] = known
        return known

    def day(self, d: date) -> tuple[bool, Source]:
        """(is it a working day, where the answer came from)."""
        yl = self._years.get(d.year)
        if yl is not None:
            return (d in yl.workdays or (d.weekday() < 5 and d not in yl.holidays)), "hall"
        if self._package_knows(d.year):
            return bool(chinese_calendar.is_workday(d)), "package"
        return d.weekday() < 5, "weekday"

    def is_workday(self, d: date) -> bool:
        with self._lock:
            self._load()
        return self.day(d)[0]

    def known(self, year: int) -> bool:
        """Whether the year has an official list (the hall's or the package's)."""
        with self._lock:
            self._load()
        return year in self._years or self._package_knows(year)

    # ------------------------------------------------------------------ counting
    def add_workdays(self, start: date, n: int) -> Deadline:
        """The n-th working day after `start` (n = 0: `start` itself, for 即办件)."""
        if n < 0:
            raise ValueError("working days must not be negative")
        with self._lock:
            self._load()
            d, left, guessed = start, n, set()
            while left > 0:
                d += timedelta(days=1)
                if (d - start).days > _MAX_SPAN_DAYS:
                    raise ValueError(f"{n} working days from {start} is beyond any real time limit")
                ok, src = self.day(d)
                if src == "weekday":
                    guessed.add(d.year)
                if ok:
                    left -= 1
        return Deadline(d, tuple(sorted(guessed)))

    def next_workday_on_or_after(self, d: date) -> Deadline:
        with self._lock:
            self._load()
            guessed: set[int] = set()
            for _ in range(60):
                ok, src = self.day(d)
                if src == "weekday":
                    guessed.add(d.year)
                if ok:
                    return Deadline(d, tuple(sorted(guessed)))
                d += timedelta(days=1)
        raise ValueError(f"no working day within 60 days of {d}")

    def add_time_limit(self, start: date, value: int, unit: str) -> Deadline:
        """A promised date from an item's time limit {value, unit}."""
        if unit not in UNITS:
            raise ValueError(f"时限单位“{unit}”无效，应为 天 / 工作日 / 月 / 年")
        if value < 0:
            raise ValueError("时限不能为负数")
        if unit == "工作日":
            return self.add_workdays(start, value)
        if value == 0:
            return Deadline(start)
        if unit == "天":
            end = start + timedelta(days=value)
        elif unit == "月":
            end = _add_months(start, value)
        else:
            end = _add_months(start, 12 * value)
        return self.next_workday_on_or_after(end)

    def count_workdays(self, start: date, end: date) -> tuple[int, bool]:
        """Working days in (start, end] (negative when end < start), and whether it was estimated."""
        sign = 1
        if end < start:
            start, end, sign = end, start, -1
        if (end - start).days > _MAX_SPAN_DAYS:
            raise ValueError("span too long")
        with self._lock:
            self._load()
            n, guessed = 0, False
            d = start
            while d < end:
                d += timedelta(days=1)
                ok, src = self.day(d)
                guessed = guessed or src == "weekday"
                n += ok
        return sign * n, guessed


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))

