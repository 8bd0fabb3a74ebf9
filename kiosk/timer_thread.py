"""One background thread for a service that sleeps until its next due time (rating prompts, broadcasts).

Such a service writes only its loop (`_loop`: do what is due, then wait on `_wake` until the next
due time) and sets `_wake` when that time may have moved; starting once, and stopping (set
`_stop`, wake the loop, join), are the same for all of them and live here.
"""

from __future__ import annotations

import threading


class TimerThread:
    #: the thread's name in logs and thread dumps
    thread_name = "timer"

    def _init_thread(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
