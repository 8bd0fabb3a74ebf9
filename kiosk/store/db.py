"""SQLite storage: one connection per thread, WAL, numbered migrations.

Every record a citizen or clerk causes must survive a power cut, so the
database runs in WAL mode with `synchronous=FULL` (a commit returns only once
the WAL is on disk). Writers open transactions with `BEGIN IMMEDIATE`, which
takes SQLite's single write lock up front: two clerks calling at the same
moment are serialised by the database itself, not by luck.

Migrations are the `NNNN_name.sql` files in `migrations/`, applied in order
at start. The table `schema_migrations` records each one applied by name (so
a migration is never skipped or run twice) and the program version that
applied it, so an older program started on a database a newer one migrated
can refuse by name of both versions instead of failing later on a missing
column; `PRAGMA user_version` mirrors the highest number for tools that look
there. Each migration runs in one transaction (SQLite's DDL is
transactional): a failing one leaves the database exactly as it was.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from hall.store.audit_chain import register_sql_functions

log = logging.getLogger(__name__)

#: Page cache per connection, in KiB. SQLite's default (2 MB) fills as the day's tables grow, once per
#: connection; the hall's hot pages (today's tickets) fit in a fraction of it and the OS page cache keeps
#: the file warm anyway.
CACHE_KIB = 256
#: Connections kept for reuse once requests end. A burst opens more (one per request at the same moment);
#: beyond this many idle ones they are closed, so a morning rush does not leave ~0.6 MB per extra
#: connection (parsed schema, prepared statements, page cache) behind for the rest of the day.
IDLE_MAX = 6

_MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    """The database cannot be opened or migrated."""


Migration = tuple[int, str, str]  # (number, file name, SQL)


def program_version() -> str:
    from hall import __version__

    return __version__


def migrations(folder: Path | None = None) -> list[Migration]:
    """(number, file name, SQL) for each shipped migration (or those in `folder`), in order."""
    found = []
    entries = folder.iterdir() if folder is not None else resources.files("hall.store").joinpath("migrations").iterdir()
    for entry in entries:
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

    def __init__(self, path: str | Path, *, steps: Callable[[], list[Migration]] | None = None,
                 version: str | None = None) -> None:
        self.path = str(path)
        self._steps = steps  # None: the shipped migrations (tests pass their own, e.g. a failing one)
        self.version = version or program_version()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._idle: list[sqlite3.Connection] = []   # handed back by request threads, see release()
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy handler,
        # which sleeps in growing steps and turns contention into 100 ms+ tails.
        self._write_lock = threading.Lock()
        self.migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=15.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        register_sql_functions(conn)   # the audit trail's seal (triggers in 0021_audit_chain.sql) needs them
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=15000")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection: an idle one handed back by another thread, or a new one."""
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            with self._lock:
                c = self._idle.pop() if self._idle else None
            if c is None:
                c = self._connect()
            self._local.conn = c
        return c

    def release(self) -> None:
        """Hand this thread's connection back for any other thread to take (the web app calls it when a
        request ends).

        Each connection carries its own parsed schema, statement cache and page cache (together about
        1 MB once warm). Kept per thread, waitress's 48 threads grew 48 of them and RSS crept up ~20 MB
        per 1,000 tickets as ever more threads warmed; handed back, the service holds only as many as
        requests ran at the same moment. Threads that live for the whole service (device workers, the
        relay) simply never call this.
        """
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            return
        self._local.conn = None
        if c.in_transaction:        # never lend out a half-done transaction (an exception path left it)
            try:
                c.execute("ROLLBACK")
            except sqlite3.Error:
                c.close()
                with self._lock:
                    if c in self._all:
                        self._all.remove(c)
                return
        with self._lock:
            if len(self._idle) < IDLE_MAX:
                self._idle.append(c)
                return
            if c in self._all:
                self._all.remove(c)
        c.close()    # a burst's extra connection: its schema, statements and pages go, not to the pool

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
        """Apply pending migrations, each in its own transaction; refuse a database from a newer program."""
        c = self.conn
        ensure_bookkeeping(c)
        steps = self._steps() if self._steps is not None else migrations()
        pending, unknown, newer = schema_state(c, steps)
        if unknown:
            raise StoreError(newer_database_message(self.path, unknown, newer, self.version))
        for number, name, sql in pending:
            log.info("applying migration %s", name)
            try:
                c.execute("BEGIN IMMEDIATE")
                for statement in _split_sql(sql):
                    c.execute(statement)
                c.execute("INSERT INTO schema_migrations (name, applied_at, program_version) "
                          "VALUES (?, datetime('now'), ?)", (name, self.version))
                c.execute(f"PRAGMA user_version={number}")
                c.execute("COMMIT")
            except sqlite3.Error as exc:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise StoreError(f"迁移 {name} 失败，数据库保持原样 / migration {name} failed, "
                                 f"database left unchanged: {exc}") from exc
        return len(steps)

    def shrink_idle(self, keep: int = 1) -> int:
        """Close pooled connections beyond `keep` once the hall is quiet; returns how many closed.

        After a rush the pool holds up to IDLE_MAX warm connections (~1 MB each: schema, statements,
        pages) that a quiet hall does not need; the next rush opens them again in a millisecond each.
        Only idle ones are touched: a connection a thread holds is not in `_idle`."""
        with self._lock:
            extra = self._idle[:max(0, len(self._idle) - keep)]
            del self._idle[:len(extra)]
            for c in extra:
                if c in self._all:
                    self._all.remove(c)
        for c in extra:
            try:
                c.close()
            except sqlite3.Error:
                pass
        return len(extra)

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
            self._idle.clear()
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


def ensure_bookkeeping(c: sqlite3.Connection) -> None:
    """The migrations table, with the program-version column older programs did not write."""
    c.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    cols = {r[1] for r in c.execute("PRAGMA table_info(schema_migrations)")}
    if "program_version" not in cols:
        c.execute("ALTER TABLE schema_migrations ADD COLUMN program_version TEXT")


def schema_state(c: sqlite3.Connection, steps: list[Migration]) -> tuple[list[Migration], list[str], str | None]:
    """(migrations still to apply, applied ones this program does not know, the newest program that applied those)."""
    cols = {r[1] for r in c.execute("PRAGMA table_info(schema_migrations)")}
    if not cols:
        return list(steps), [], None
    version_col = "program_version" if "program_version" in cols else "NULL"
    applied = {r[0]: r[1] for r in c.execute(f"SELECT name, {version_col} FROM schema_migrations")}
    known = {name for _, name, _ in steps}
    unknown = sorted(set(applied) - known)
    versions = [applied[n] for n in unknown if applied[n]]
    newer = max(versions, key=_version_key) if versions else None
    return [s for s in steps if s[1] not in applied], unknown, newer


def newer_database_message(path: str, unknown: list[str], newer: str | None, ours: str) -> str:
    writer = f"{newer} 版" if newer else "更新的版本"
    return (f"{path}: 数据库由 {writer}写入（含本程序不认识的迁移 {', '.join(unknown)}），本程序为 {ours} 版，"
            f"不能在较新的数据库上运行：请安装 {newer or '较新'} 版或更新的版本，或恢复升级前的备份 / "
            f"database written by a newer version ({newer or 'unknown'}); this program is {ours}")


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:4])
