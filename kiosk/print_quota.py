"""How many self-service slips a kiosk may print in a while (告知单 on the kiosk's own printer).

WHY: a 告知单 needs no ticket and no sign-in, so a paired kiosk page (or a
script holding its token) could empty the printer's paper roll, and the next
citizen gets a number with no slip. A sliding window per kiosk bounds that to a
handful a few minutes, enough for a citizen comparing two or three items. It
lives in memory: a restart forgets it, which costs at most one more window of
slips, and paper is the only thing at stake. Knows nothing of Flask.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

NOTICE_SLIPS = 5             # slips per kiosk …
NOTICE_WINDOW_S = 600.0      # … in ten minutes


class SlipQuota:
    """A per-key sliding window: `take(key)` counts one slip or says how long to wait."""

    def __init__(self, limit: int = NOTICE_SLIPS, window_s: float = NOTICE_WINDOW_S,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self._now = limit, window_s, now
        self._lock = threading.Lock()
        self._taken: dict[str, deque[float]] = {}

    def take(self, key: str) -> float:
        """0 when a slip may print now (and it is counted); else the seconds until one may."""
        now = self._now()
        with self._lock:
            times = self._taken.setdefault(key, deque())
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return max(1.0, math.ceil(times[0] + self.window_s - now))
            times.append(now)
            return 0.0
