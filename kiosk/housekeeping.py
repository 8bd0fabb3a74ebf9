"""One background thread for the hall's periodic chores: the daily backup, record pruning, the clock check.

Each chore decides for itself whether it is due (they keep their own
"last done"), so the thread only has to wake now and then; a chore that
fails is logged and retried at the next wake, and never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)

Chore = tuple[str, Callable[[datetime], object]]


class Housekeeping:
    def __init__(self, now: Callable[[], datetime], chores: list[Chore], *, interval: float = 600.0,
                 first_delay: float = 30.0, after: Callable[[], None] | None = None) -> None:
        self.now = now
        # Run after each round on the housekeeping thread: the services hand its database connection back
        # (hall.store.db.Database.release), since the next round is ten minutes away.
        self.after = after
        self.chores = chores
        self.interval = interval
        self.first_delay = first_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        for name, chore in self.chores:
            if self._stop.is_set():
                return
            try:
                chore(self.now())
            except Exception:
                log.exception("housekeeping: %s failed", name)
        if self.after is not None:
            self.after()

    def _loop(self) -> None:
        wait = self.first_delay
        while not self._stop.wait(wait):
            self.run_once()
            wait = self.interval

    def start(self) -> None:
        if self._thread is None and self.chores:
            self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
