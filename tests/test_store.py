from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hall.store.db import Database, StoreError, migrations


def test_wal_and_full_sync(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    names = {r[0] for r in db.conn.execute("SELECT name FROM schema_migrations")}
    assert names == {name for _, name, _ in migrations()}


def test_migrations_apply_once(tmp_path: Path) -> None:
    Database(tmp_path / "x.db").close()
    db = Database(tmp_path / "x.db")  # second start: nothing re-applied, no error
    assert db.conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    db.conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_future.sql', 'x')")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Database(tmp_path / "x.db")


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    with pytest.raises(RuntimeError), db.write() as c:
        c.execute("INSERT INTO audit (at, actor, action) VALUES ('t', 'a', 'x')")
        raise RuntimeError("boom")
    assert db.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 0


def test_one_connection_per_thread(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    ids: list[int] = []

    def grab() -> None:
        ids.append(id(db.conn))
        ids.append(id(db.conn))

    t = threading.Thread(target=grab)
    t.start()
    t.join()
    assert ids[0] == ids[1] != id(db.conn)


def test_committed_write_survives_abrupt_process_exit(tmp_path: Path) -> None:
    """A commit that returned is on disk even if the process dies without closing."""
    import subprocess
    import sys

    path = tmp_path / "x.db"
    code = (
        f"import os; from hall.store.db import Database; db = Database({str(path)!r})\n"
        "with db.write() as c: c.execute(\"INSERT INTO audit (at, actor, action) VALUES ('t','a','x')\")\n"
        "os._exit(0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 1
