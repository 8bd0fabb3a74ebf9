"""Safe update, database side: a failing migration changes nothing; an older program refuses a newer database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hall.cli import main
from hall.store import db as dbmod
from hall.store.db import Database, StoreError, migrations


def _dump(path: Path) -> tuple[list[str], int]:
    c = sqlite3.connect(path)
    try:
        return list(c.iterdump()), c.execute("PRAGMA user_version").fetchone()[0]
    finally:
        c.close()


BAD = (901, "0901_half_done.sql",
       "CREATE TABLE extra (id INTEGER PRIMARY KEY);\n"
       "ALTER TABLE tickets ADD COLUMN note TEXT;\n"
       "INSERT INTO tickets_nonexistent VALUES (1);\n")
GOOD = (902, "0902_extra.sql", "CREATE TABLE extra2 (id INTEGER PRIMARY KEY);\n")


def test_failing_migration_leaves_the_database_exactly_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "hall.db"
    db = Database(path)
    with db.write() as c:
        c.execute("INSERT INTO audit (at, actor, action) VALUES ('2026-11-25', 'x', 'before')")
    db.close()
    before = _dump(path)
    with pytest.raises(StoreError, match=r"0901_half_done\.sql") as err:
        Database(path, steps=lambda: [*migrations(), BAD])
    assert "数据库保持原样" in str(err.value)
    assert _dump(path) == before  # the CREATE and ALTER before the failing statement were rolled back
    # and the shipped program still opens it
    Database(path).close()


def test_migration_records_the_program_version_and_an_older_program_refuses(tmp_path: Path) -> None:
    path = tmp_path / "hall.db"
    Database(path, version="0.1.0").close()
    Database(path, steps=lambda: [*migrations(), GOOD], version="0.2.0").close()
    c = sqlite3.connect(path)
    rows = dict(c.execute("SELECT name, program_version FROM schema_migrations"))
    c.close()
    assert rows["0902_extra.sql"] == "0.2.0" and rows["0001_queue.sql"] == "0.1.0"
    with pytest.raises(StoreError) as err:
        Database(path, version="0.1.0")
    msg = str(err.value)
    assert "数据库由 0.2.0 版写入" in msg and "本程序为 0.1.0 版" in msg and "0902_extra.sql" in msg


def test_database_from_before_version_tracking_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "hall.db"
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    c.commit()
    c.close()
    db = Database(path, version="0.3.0")
    cols = {r[1] for r in db.conn.execute("PRAGMA table_info(schema_migrations)")}
    assert "program_version" in cols
    db.close()


def test_cli_migrate_and_version(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import version

    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == version("hall-kiosk")
    assert main(["migrate", "--data-dir", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out
    before = _dump(tmp_path / "hall.db")
    monkeypatch.setattr(dbmod, "migrations", lambda folder=None: [*migrations(), BAD])
    assert main(["migrate", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "0901_half_done.sql" in err and "no such table" in err
    assert _dump(tmp_path / "hall.db") == before
