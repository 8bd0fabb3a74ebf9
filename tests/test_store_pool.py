"""The SQLite connection pool stays small (issue 10 item 8): a burst's extra connections are closed, and a
live stream does not pin one while it waits."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hall.drivers.base import wait_until
from hall.services import Services
from hall.store.db import IDLE_MAX, Database
from hall.web.app import create_app


def test_a_burst_leaves_at_most_idle_max_connections_open(tmp_path: Path) -> None:
    db = Database(tmp_path / "hall.db")
    base = len(db._all)                       # the migrating thread's own connection
    burst = IDLE_MAX + 5
    inside = threading.Barrier(burst)
    taken: list[sqlite3.Connection] = []
    lock = threading.Lock()

    def request() -> None:
        c = db.conn
        c.execute("SELECT COUNT(*) FROM tickets").fetchone()
        with lock:
            taken.append(c)
        inside.wait(30)                       # all of them hold a connection at the same moment
        db.release()

    threads = [threading.Thread(target=request) for _ in range(burst)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len({id(c) for c in taken}) == burst
    assert len(db._idle) == IDLE_MAX and len(db._all) == base + IDLE_MAX
    closed = [c for c in taken if c not in db._idle]
    assert len(closed) == burst - IDLE_MAX
    for c in closed:
        with pytest.raises(sqlite3.ProgrammingError):
            c.execute("SELECT 1")
    # the pooled ones still serve the next requests
    assert db._idle[0].execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0
    db.close()


def test_a_quiet_hall_closes_the_rushs_pooled_connections(tmp_path: Path) -> None:
    db = Database(tmp_path / "hall.db")
    db.release()                                       # the migrating thread's connection joins the pool
    held = threading.Barrier(4)

    def request() -> None:
        db.conn.execute("SELECT COUNT(*) FROM tickets").fetchone()
        held.wait(30)
        db.release()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    pooled = list(db._idle)
    assert len(pooled) == 4
    mine = db.conn                                     # a connection a thread holds is never closed
    assert mine in pooled and len(db._idle) == 3
    assert db.shrink_idle(keep=1) == 2
    assert len(db._idle) == 1
    for c in pooled:
        if c is not mine and c not in db._idle:
            with pytest.raises(sqlite3.ProgrammingError):
                c.execute("SELECT 1")
    assert mine.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0
    assert db.shrink_idle(keep=1) == 0
    db.close()


def test_a_waiting_stream_hands_its_connection_back(services: Services) -> None:
    app = create_app(services, {"TESTING": True, "SSE_HEARTBEAT": 0.05, "SSE_LIFETIME": 30.0})
    resp = app.test_client().get("/api/events", buffered=False)
    chunks = iter(resp.response)
    first = b"".join(next(chunks) for _ in range(2))   # retry hint, then the snapshot (read from SQLite)
    assert b"event: snapshot" in first
    heartbeat = next(chunks)                            # the stream waited once in the hub
    assert b"heartbeat" in heartbeat
    # the generator runs on this thread: its connection went back to the pool while it waited
    assert getattr(services.db._local, "conn", None) is None
    assert services.db._idle
    resp.close()


def _held(db: Database) -> list[sqlite3.Connection]:
    """Connections some thread keeps for itself (not in the pool)."""
    with db._lock:
        return [c for c in db._all if c not in db._idle]


def test_device_and_background_threads_hand_their_connections_back(services: Services) -> None:
    """A ticket is printed (the printer's worker and its status recorder), the LED board and window screens
    read the queue, the records thread runs: none of these long-lived threads keeps a connection for
    itself afterwards. Before, each pinned a warm one (~0.5 MB) for the service's life."""
    services.start()
    services.db.release()                      # this thread's, from the migrations (serve does the same)
    client = create_app(services, {"TESTING": True}).test_client()
    ticket = client.post("/api/tickets", json={"category": "A"}).get_json()["ticket"]
    leds = [d for d in services.devices.devices.values() if d.kind == "led"]
    assert leds, "the demo hall has LED screens"

    def printed() -> bool:
        status = services.engine.ticket_status(ticket["id"])["ticket"]["print_status"]
        services.db.release()                  # the test's own thread asks too: not counted below
        return bool(status == "printed")

    assert wait_until(printed, 20)
    assert wait_until(lambda: not _held(services.db), 20), \
        f"{len(_held(services.db))} connection(s) still held by threads"
    assert services.db._idle                   # they went back to the pool, for the next request to reuse
