"""The records part of the service, built once by the composition root.

`Records` bundles cases, ratings, complaints, appointments and figures over one
`RecordContext`, and runs one small background thread: it closes rating prompts
when they expire (so evaluators hear "rating.closed" on time), turns appointments
whose slot ended into no-shows, and adopts 办件编号s the county returned.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import Clock, parse_iso
from hall.queue.engine import QueueEngine
from hall.records.appointments import AppointmentService
from hall.records.base import ItemInfo, ItemLookup, Publish, RecordContext
from hall.records.cases import CaseService
from hall.records.complaints import ComplaintService
from hall.records.figures import Figures
from hall.records.ratings import RatingService
from hall.records.reason_completion import ReasonCompletion
from hall.records.reasons import ReasonList
from hall.records.util import Actor
from hall.records.workdays import FILE_NAME as HOLIDAYS_FILE
from hall.records.workdays import WorkCalendar
from hall.store.db import Database
from hall.timer_thread import TimerThread

log = logging.getLogger(__name__)

# A rating sink as evaluator drivers call it: (window, level name, channel, prompt id) -> recorded?
RatingSink = Callable[[int, str, str, int], bool]


class CatalogItems:
    """Item look-up over the hall's service catalog (hall.records.catalog.CatalogStore).

    Uses the store the composition root built (``store_provider()``), so county
    updates are seen at once; until there is one, a read-only store of its own
    over the same data folder (last good cached version, else the shipped demo).
    """

    def __init__(self, data_dir: Path, categories: list[str],
                 store_provider: Callable[[], Any] | None = None) -> None:
        self.data_dir = data_dir
        self.categories = categories
        self._provider = store_provider or (lambda: None)
        self._own: Any = None
        self._lock = threading.Lock()

    def _store(self) -> Any:
        store = self._provider()
        if store is not None:
            return store
        with self._lock:
            if self._own is None:
                from hall.records.catalog import CatalogStore
                self._own = CatalogStore(self.data_dir, categories=self.categories)
            return self._own

    def __call__(self, impl_code: str) -> ItemInfo | None:
        try:
            item = self._store().current.get(impl_code)
        except Exception:
            log.exception("service catalog look-up failed for %s", impl_code)
            return None
        return item_info(item)


def _get(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def item_info(item: Any) -> ItemInfo | None:
    """Adapt a catalog item (object or dict) to what the records need."""
    if item is None:
        return None
    limit = _get(item, "promised_limit", "time_limit", "limit")
    value = _get(limit, "value") if limit is not None else None
    unit = _get(limit, "unit") if limit is not None else None
    kind = _get(item, "case_kind")
    kind = getattr(kind, "value", kind)      # the catalog's CaseKind enum ("1" / "2")
    kind_name = {"1": "即办件", "2": "承诺件", 1: "即办件", 2: "承诺件"}.get(kind, kind)
    if kind_name not in ("即办件", "承诺件"):
        kind_name = "即办件" if value == 0 else "承诺件"
    return ItemInfo(impl_code=str(_get(item, "impl_code")), name=str(_get(item, "name")),
                    category=_get(item, "category", "prefix", "category_prefix"),
                    limit_value=int(value) if value is not None else None,
                    limit_unit=str(unit) if unit is not None else None, case_kind=kind_name)


def _token_key(db: Database, name: str = "rating_token_key") -> bytes:
    """A per-hall random key, made once and kept in the database (so a backup restores it)."""
    with db.write() as c:
        row = c.execute("SELECT value FROM records_settings WHERE name = ?", (name,)).fetchone()
        if row is None:
            key = secrets.token_hex(32)
            c.execute("INSERT INTO records_settings (name, value) VALUES (?, ?)", (name, key))
        else:
            key = row[0]
    return bytes.fromhex(key)


class Records(TimerThread):
    thread_name = "records"

    def __init__(self, config: HallConfig, data_dir: Path, db: Database, engine: QueueEngine, clock: Clock,
                 publish: Publish, items: ItemLookup | None = None) -> None:
        self.calendar = WorkCalendar(data_dir / HOLIDAYS_FILE)
        self.reasons = ReasonList(data_dir)
        self.ctx = RecordContext(db, config, clock, self.calendar, publish,
                                 items or CatalogItems(data_dir, [c.prefix for c in config.categories]))
        self.cases = CaseService(self.ctx, data_dir)
        self.ratings = RatingService(self.ctx, self.cases, self.reasons, _token_key(db))
        self.reason_completion = ReasonCompletion(self.ctx, self.reasons, self.ratings.ticket_of_token)
        self.complaints = ComplaintService(self.ctx, self.reasons)
        # The hall's key for keyed hashes of ID numbers (HMAC-SHA256): card readers, bookings, ticket holders.
        self.id_key = _token_key(db, "id_hash_key")
        self.appointments = AppointmentService(self.ctx, engine, self.id_key)
        self.figures = Figures(self.ctx)
        self._init_thread()
        self.ratings.register_for_urls()
        self.ratings.on_prompt = self.poke

    # ------------------------------------------------------------------ for other parts
    def rating_sink(self, window: int, level: str, channel: str, prompt_id: int) -> bool:
        """Evaluator drivers call this on a key press (see RatingService.sink)."""
        return self.ratings.sink(window, level, channel, prompt_id)

    def rating_url(self, ticket_id: int) -> str:
        return self.ratings.rating_url(ticket_id)

    def records_figures(self, when: date | str | None = None) -> dict[str, Any]:
        return self.figures.records_figures(when)

    def import_appointments(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return self.appointments.import_appointments(items)

    def poke(self) -> None:
        """Wake the background thread (a prompt was opened: its expiry must be scheduled)."""
        self._wake.set()

    # ------------------------------------------------------------------ background
    def tick(self) -> None:
        """One round of time-driven work; safe to call any time (tests call it directly)."""
        self.ratings.expire_prompts()
        self.appointments.mark_no_shows()
        self.cases.adopt_county_refs(Actor("county", "county"))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("records background work failed")
            wait = 30.0
            nxt = self.ratings.next_expiry()
            if nxt:
                wait = min(wait, max(0.2, (parse_iso(nxt) - self.ctx.now()).total_seconds() + 0.05))
            self.ctx.db.release()    # not pinned while the thread sleeps (see Database.release)
            self._wake.wait(wait)
            self._wake.clear()

