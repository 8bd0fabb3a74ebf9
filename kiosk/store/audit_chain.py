"""The audit trail's seal: who/where context, masking and the hash chain (issue 10, item 6).

Rows are inserted by many parts of the service (queue engine, records,
relay, village…), so the chain is not left to each of them: an SQLite
trigger seals every row as it is inserted, calling the functions this module
registers on each connection. It fills in the client address, device and
role of the request being served (from a context variable the web layer
sets), masks ID and phone numbers, and stores
`hash = sha256(canonical row + previous row's hash)`. Other triggers refuse
UPDATE and DELETE, except deletion by `prune_audit`, which records an anchor
so the chain still verifies after old rows are gone.

`verify_audit` recomputes the chain: an edited row no longer matches its
hash, a deleted row breaks the next row's `prev_hash`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hall.security import redact_text

#: who is being served on this thread: {"remote", "device", "role"} (set by the web layer, the CLI…)
_context: ContextVar[dict[str, str] | None] = ContextVar("hall_audit_context", default=None)

COLUMNS = ("id", "at", "at_utc", "actor", "role", "action", "target", "detail", "remote", "device", "prev_hash")


@contextmanager
def audit_context(*, remote: str | None = None, device: str | None = None,
                  role: str | None = None) -> Iterator[None]:
    """Audit rows written inside this block say they came from `remote` / `device` as `role`."""
    token = _context.set({k: v for k, v in (("remote", remote), ("device", device), ("role", role)) if v})
    try:
        yield
    finally:
        _context.reset(token)


def set_context(values: dict[str, str]) -> object:
    """For request hooks that cannot hold a `with` block: returns the token for `reset_context`."""
    return _context.set(values)


def reset_context(token: object) -> None:
    _context.reset(token)  # type: ignore[arg-type]


def update_context(**values: str) -> None:
    """Change the current context in place (a sign-in learns the role half-way through its request)."""
    ctx = _context.get()
    if ctx is not None:
        ctx.update(values)


def _context_value(key: str) -> str | None:
    ctx = _context.get()
    return ctx.get(key) if ctx else None


def _redact(value: str | None) -> str | None:
    return redact_text(value) if isinstance(value, str) else value


def row_hash(*values: Any) -> str:
    """sha256 over the row's columns (in `COLUMNS` order, prev_hash last) as canonical JSON."""
    canonical = json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def register_sql_functions(conn: sqlite3.Connection) -> None:
    """Called for every connection: the audit triggers need these."""
    conn.create_function("hall_audit_context", 1, _context_value)
    conn.create_function("hall_redact", 1, _redact, deterministic=True)
    conn.create_function("hall_audit_hash", len(COLUMNS), row_hash, deterministic=True)


# ---------------------------------------------------------------------- verify
@dataclass
class VerifyResult:
    ok: bool
    rows: int
    problems: list[str] = field(default_factory=list)
    anchor: dict[str, Any] | None = None


def verify_audit(conn: sqlite3.Connection, max_problems: int = 20) -> VerifyResult:
    """Walk the chain from the anchor (or the start) and report every row that does not fit."""
    anchor_row = conn.execute("SELECT * FROM audit_anchor WHERE id = 1").fetchone()
    anchor = dict(anchor_row) if anchor_row is not None else None
    prev = anchor["last_hash"] if anchor else ""
    last_id = anchor["last_id"] if anchor else 0
    result = VerifyResult(ok=True, rows=0, anchor=anchor)

    def problem(text: str) -> None:
        result.ok = False
        if len(result.problems) < max_problems:
            result.problems.append(text)

    for row in conn.execute(f"SELECT {', '.join(COLUMNS)}, hash FROM audit ORDER BY id"):
        result.rows += 1
        values = [row[c] for c in COLUMNS]
        if row["id"] <= last_id:
            problem(f"row {row['id']}: older than the pruning anchor (row {last_id}) / 早于清理锚点")
        if row["prev_hash"] != prev:
            problem(f"row {row['id']}: chain broken before it (a row was deleted or inserted) / 此前记录被删除或插入")
        if row["hash"] != row_hash(*values):
            problem(f"row {row['id']}: content does not match its hash (edited) / 内容被修改")
        prev = row["hash"] or ""
        last_id = row["id"]
    return result


# ---------------------------------------------------------------------- retention
def prune_audit(conn: sqlite3.Connection, before: datetime) -> int:
    """Delete rows older than `before` (the retention hook), keeping the chain verifiable.

    Runs in its own transaction on `conn` (pass `db.conn`, outside any other
    transaction). The newest deleted row's id and hash become the anchor the
    first kept row chains to. Returns the number of rows deleted.
    """
    cutoff = before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    conn.execute("BEGIN IMMEDIATE")
    try:
        last = conn.execute("SELECT id, hash FROM audit WHERE at_utc < ? ORDER BY id DESC LIMIT 1",
                            (cutoff,)).fetchone()
        if last is None:
            conn.execute("ROLLBACK")
            return 0
        conn.execute("INSERT INTO audit_prune_gate (open) VALUES (1)")
        n = conn.execute("DELETE FROM audit WHERE id <= ?", (last["id"],)).rowcount
        conn.execute("DELETE FROM audit_prune_gate")
        old = conn.execute("SELECT rows_pruned FROM audit_anchor WHERE id = 1").fetchone()
        conn.execute(
            "INSERT OR REPLACE INTO audit_anchor (id, last_id, last_hash, pruned_before, pruned_at, rows_pruned) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (last["id"], last["hash"], cutoff, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             n + (old[0] if old else 0)),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return n
