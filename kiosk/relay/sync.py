"""What comes back from the county: catalog, reason lists and appointments, fetched on a schedule.

The same goes for the official holiday and adjusted-workday lists
(``WorkCalendar.set_year``), which the working-day deadlines need for years the
``chinese-calendar`` package does not know yet.

The relay only fetches (versioned, with ETag / cursor kept in ``relay_state``
so a restart does not fetch everything again); the records code validates and
installs what arrives (``CatalogStore.apply``, ``ReasonList.install``,
``Records.import_appointments``). When the county is unreachable nothing
changes in the hall: the kiosk keeps its last good catalog and reason list.

One small thread (``county-sync``) runs the jobs; a failed job is tried again
after a short pause (at most its interval), never in a tight loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from hall.relay.client import RelayError
from hall.relay.outbox import put_state
from hall.relay.sender import Relay
from hall.store.db import Database

log = logging.getLogger(__name__)

CATALOG_EVERY = 1800.0      # seconds; an unchanged catalog costs one 304
REASONS_EVERY = 1800.0
APPOINTMENTS_EVERY = 120.0  # citizens book on the county platform and may come the same day
HOLIDAYS_EVERY = 6 * 3600.0  # the State Council publishes next year's list each November
RETRY_AFTER_FAILURE = 300.0
FIRST_RUN_DELAY = 3.0


@dataclass
class SyncJob:
    name: str
    interval: float
    run: Callable[[], str]   # fetch and hand over; returns a short outcome; raises on failure
    next_due: float = 0.0


def _get_state(db: Database, key: str) -> str | None:
    row = db.conn.execute("SELECT value FROM relay_state WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def _set_state(db: Database, key: str, value: str) -> None:
    with db.write() as c:
        put_state(c, key, value)


def catalog_job(relay: Relay, db: Database, apply: Callable[[dict[str, Any]], Any]) -> Callable[[], str]:
    """Fetch the catalog when its version changed; `apply(doc)` validates and swaps it in."""

    def run() -> str:
        got = relay.fetch_catalog(etag=_get_state(db, "sync.catalog.etag"))
        if got is None:
            return "unchanged (304)"
        result = apply(got.doc)
        status = str(getattr(result, "status", "applied"))
        if status in ("applied", "unchanged") and got.etag:
            _set_state(db, "sync.catalog.etag", got.etag)  # a refused version is fetched again next time
        return f"{status} {got.version}"

    return run


def reasons_job(relay: Relay, db: Database, install: Callable[[dict[str, Any]], Any]) -> Callable[[], str]:
    """Fetch the reason lists when their version changed; `install(doc)` validates and swaps them in."""

    def run() -> str:
        got = relay.fetch_reasons(etag=_get_state(db, "sync.reasons.etag"))
        if got is None:
            return "unchanged (304)"
        try:
            install(got.doc)
        except ValueError as exc:
            log.error("reason list version %s from the county refused: %s", got.version, exc)
            return f"rejected {got.version}: {exc}"
        if got.etag:
            _set_state(db, "sync.reasons.etag", got.etag)
        return f"installed {got.version}"

    return run


def appointments_job(relay: Relay, db: Database,
                     import_: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> Callable[[], str]:
    """Fetch appointments booked on the county platform since the last cursor; `import_` stores them."""

    def run() -> str:
        cursor = _get_state(db, "sync.appointments.cursor") or "0"
        added = updated = errors = 0
        for _ in range(100):  # pages of 500: a bounded catch-up per run
            page = relay.fetch_appointments(since=cursor)
            if page["appointments"]:
                result = import_(page["appointments"])
                added += int(result.get("added", 0))
                updated += int(result.get("updated", 0))
                errors += len(result.get("errors", []))
            if page["cursor"] != cursor:
                cursor = page["cursor"]
                _set_state(db, "sync.appointments.cursor", cursor)  # only after the import committed
            if not page["more"]:
                break
        return f"added {added}, updated {updated}, refused {errors}"

    return run


def this_and_next_year() -> list[int]:
    year = datetime.now(timezone(timedelta(hours=8))).year
    return [year, year + 1]


def holidays_job(relay: Relay, db: Database, install: Callable[[int, dict[str, Any]], Any],
                 years: Callable[[], list[int]]) -> Callable[[], str]:
    """Fetch the official holiday lists of `years()`; `install(year, doc)` validates and stores one."""

    def run() -> str:
        done = []
        for year in years():
            doc = relay.fetch_holidays(year)
            if doc is None:
                done.append(f"{year}: not published")
                continue
            body = {k: doc[k] for k in ("holidays", "workdays", "source")}
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
            if _get_state(db, f"sync.holidays.{year}") == digest:
                done.append(f"{year}: unchanged")
                continue
            try:
                install(year, body)
            except ValueError as exc:
                log.error("holiday list %d from the county refused: %s", year, exc)
                done.append(f"{year}: rejected ({exc})")
                continue
            _set_state(db, f"sync.holidays.{year}", digest)
            done.append(f"{year}: installed")
        return "; ".join(done)

    return run


class CountySync:
    """Runs the sync jobs on their schedule in one background thread."""

    def __init__(self, relay: Relay, jobs: list[SyncJob] | None = None) -> None:
        self.relay = relay
        self.jobs: list[SyncJob] = list(jobs or [])
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, name: str, interval: float, run: Callable[[], str]) -> None:
        self.jobs.append(SyncJob(name, interval, run))

    def start(self, first_delay: float = FIRST_RUN_DELAY) -> None:
        if not self.jobs or self.relay.client is None or (self._thread and self._thread.is_alive()):
            return
        now = time.monotonic()
        for job in self.jobs:
            job.next_due = now + first_delay
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="county-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_now(self, name: str | None = None) -> None:
        """Run (all or one) job at the next opportunity, e.g. a technician's "sync now"."""
        for job in self.jobs:
            if name is None or job.name == name:
                job.next_due = 0.0
        self._wake.set()

    def run_job(self, job: SyncJob) -> bool:
        """Run one job now in the caller's thread; True when it succeeded."""
        try:
            outcome = job.run()
        except (RelayError, ValueError, OSError) as exc:
            self.relay.fetcher.note(job.name, ok=False, detail=str(exc))
            log.warning("county sync %s failed: %s", job.name, exc)
            job.next_due = time.monotonic() + min(job.interval, RETRY_AFTER_FAILURE)
            return False
        except Exception as exc:  # a sink's bug must not end the thread
            log.exception("county sync %s failed", job.name)
            self.relay.fetcher.note(job.name, ok=False, detail=f"{type(exc).__name__}: {exc}")
            job.next_due = time.monotonic() + min(job.interval, RETRY_AFTER_FAILURE)
            return False
        self.relay.fetcher.note(job.name, ok=True, detail=outcome)
        log.debug("county sync %s: %s", job.name, outcome)
        job.next_due = time.monotonic() + job.interval
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if self._stop.is_set():
                    return
                if job.next_due <= now:
                    self.run_job(job)
            wait = min(j.next_due for j in self.jobs) - time.monotonic()
            self.relay.db.release()   # not pinned between fetches (see Database.release)
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
