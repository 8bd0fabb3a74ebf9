"""The SQLite connection pool stays small (issue 10 item 8): a burst's extra connections are closed, and a
live stream does not pin one while it waits."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
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
