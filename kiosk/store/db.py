"""SQLite storage: one connection per thread, WAL, numbered migrations.

Every record a citizen or clerk causes must survive a power cut, so the
database runs in WAL mode with `synchronous=FULL` (a commit returns only once
the WAL is on disk). Writers open transactions with `BEGIN IMMEDIATE`, which
takes SQLite's single write lock up front: two clerks calling at the same
moment are serialised by the database itself, not by luck.

Migrations are the `NNNN_name.sql` files in `migrations/`, applied in order
at start. The table `schema_migrations` records each one applied by name (so
a migration is never skipped or run twice); `PRAGMA user_version` mirrors the
highest number for tools that look there.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    """The database cannot be opened or migrated."""


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for each shipped migration, in order."""
    found = []
    for entry in resources.files("hall.store").joinpath("migrations").iterdir():
        m = _MIGRATION_RE.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise StoreError(f"two migrations share a number: {numbers}")
    return found


class Database:
    """A SQLite file shared by the service's threads, one connection each."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy handler,
        # which sleeps in growing steps and turns contention into 100 ms+ tails.
        self._write_lock = threading.Lock()
        self.migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=15.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=15000")
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            c = self._connect()
            self._local.conn = c
        return c

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or none of it."""
        c = self.conn
        if c.in_transaction:  # nested use joins the outer transaction
            yield c
            return
        with self._write_lock:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            else:
                c.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for multi-query reads."""
        c = self.conn
        if c.in_transaction:
            yield c
            return
        c.execute("BEGIN")
        try:
            yield c
        finally:
            c.execute("COMMIT")

    def migrate(self) -> int:
        c = self.conn
        c.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        applied = {r[0] for r in c.execute("SELECT name FROM schema_migrations")}
        steps = migrations()
        known = {name for _, name, _ in steps}
        unknown = sorted(applied - known)
        if unknown:
            raise StoreError(
                f"{self.path}: database has migrations this program does not know ({', '.join(unknown)}): "
                "it was written by a newer version of the service; install that version"
            )
        for number, name, sql in steps:
            if name in applied:
                continue
            log.info("applying migration %s", name)
            try:
                c.execute("BEGIN IMMEDIATE")
                for statement in _split_sql(sql):
                    c.execute(statement)
                c.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, datetime('now'))", (name,))
                c.execute(f"PRAGMA user_version={number}")
                c.execute("COMMIT")
            except sqlite3.Error as exc:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise StoreError(f"migration {name} failed: {exc}") from exc
        return len(steps)

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit implicitly)."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements
