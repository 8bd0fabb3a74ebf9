"""The hall's clock: local time in the hall's zone, injectable for tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


# dup-ok: drivers/contracts.py has its own clock: drivers may not import hall.queue (test_driver_imports)
class Clock:
    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()


class FixedClock(Clock):
    """A clock that only moves when told; for tests, simulators and benchmarks."""

    def __init__(self, start: datetime, tz: str = "Asia/Shanghai") -> None:
        super().__init__(tz)
        self._now = start if start.tzinfo else start.replace(tzinfo=self.tz)

    def now(self) -> datetime:
        return self._now

    def advance(self, **kwargs: float) -> datetime:
        self._now += timedelta(**kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when if when.tzinfo else when.replace(tzinfo=self.tz)


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def epoch_us(dt: datetime) -> int:
    return int(dt.timestamp() * 1_000_000)
