"""Waiting on state in tests: one generous budget for the whole suite.

A test waits for a state (a device ready, a row written, an event seen), never for
a fixed time. The budget only matters when the state never comes: then the test
fails after WAIT_SECONDS instead of hanging. It is generous on purpose, because the
suite runs on a 2-core machine that other work keeps busy; a short budget there
fails a test that was merely slow (issue 10 item 9). A wait that must time out
(something that must NOT happen) passes its own short timeout and says so.
"""

from __future__ import annotations

from collections.abc import Callable

from hall.drivers.base import wait_until as _poll

WAIT_SECONDS = 30.0


def wait_until(predicate: Callable[[], object], timeout: float = WAIT_SECONDS) -> bool:
    """True once `predicate()` is truthy; False if it is still falsy after `timeout` seconds."""
    return _poll(lambda: bool(predicate()), timeout)
