"""What a driver needs from the application around it, declared here so drivers import nothing of it.

A device worker hears the hall's events (a ticket issued, a call, a rating
prompt), reports its own (printer status), reads the hall's clock, and masks
ID and phone numbers before text leaves the machine on paper or a screen.
The application owns those things (`hall.events.EventHub`,
`hall.queue.clock.Clock`, `hall.security.redact_text`); the composition root
(`hall.services`) hands them to the drivers, which only see the small shapes
below. So a driver can be read, tested and reused without the queue engine,
and a change in the hub or the engine cannot reach a driver's imports.
tests/test_driver_imports.py keeps it that way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo


class HallEvent(Protocol):
    """An event as drivers read it: what happened (`ticket.issued`…) and its JSON-like payload."""

    @property
    def kind(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


EventListener = Callable[[HallEvent], None]


class EventSource(Protocol):
    """The hall's event hub as drivers use it.

    Listeners run on the publisher's thread (a web request), so they must only
    enqueue for the device's worker. `publish` is for a device's own news
    (printer status) that screens show.
    """

    def add_listener(self, fn: EventListener) -> None: ...

    def publish(self, kind: str, data: dict[str, Any]) -> object: ...


class Clock(Protocol):
    """The hall's clock: aware datetimes in the hall's zone, so a FixedClock can drive a test."""

    def now(self) -> datetime: ...

    def today(self) -> date: ...


class Redactor(Protocol):
    """Masks ID and phone numbers inside free text (the app's one rule, `hall.security.redact_text`)."""

    def __call__(self, text: str, /) -> str: ...


class ZoneClock:
    """The wall clock in one zone: the default for a worker built without the hall's clock (tools, tests).

    It mirrors the app's `Clock` default (Asia/Shanghai) so a naive time read in
    an event means the same thing with or without the injected clock.
    """

    # dup-ok: mirrors queue/clock.py Clock on purpose: drivers may not import hall.queue (test_driver_imports)
    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()
