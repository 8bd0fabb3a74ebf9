"""The outbox: records bound for the county, written with the record itself.

The records code calls :func:`enqueue` inside its own write transaction, on the
same connection, so a case (or rating, complaint…) and the message that carries
it to the county commit together or not at all (DESIGN.md §8). The sender
thread (:mod:`hall.relay.sender`) reads pending rows and marks them acknowledged
only after the county answered; nothing is deleted before that.

The queries below read and repair the outbox without a running sender, so the
technician's CLI (`kiosk relay status`, dead letters, retry) and the web API use
them while the service is stopped or misconfigured: backlog and dead letters,
the last drain's progress (kept in ``relay_state`` by the sender), putting a
dead letter back in line, and pruning acknowledged rows after the retention.

Payloads keep semantic values (satisfaction level names, status names); the
conversion to platform codes and the trimming to the fields the county needs
happen once, at send time, in :mod:`hall.relay.wire`.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from hall.store.db import Database

log = logging.getLogger(__name__)

#: Message kinds the county understands (kiosk/relay/county-api.yaml, `Message.kind`).
KINDS: frozenset[str] = frozenset({
    "case",                # a case (办件) registered at the window, full record
    "case_status",         # a status change of a case (受理/办理中/补正/办结/退回)
    "rating",              # a rating (好差评), one per service; assess 2 = added later
    "complaint",           # a complaint or suggestion (意见建议) from the kiosk
    "rectification",       # a 差评 rectification (整改) task and its progress
    "appointment",         # an appointment booked at the hall (manager page)
    "appointment_noshow",  # an appointment nobody checked in for
})

_ID_RE = re.compile(r"^[\w.:\-/]{1,200}$")
# Outbox dates: China has one offset all year (no DST); the wire and the
# records use ISO-8601 with +08:00 (DESIGN.md §4).
_CST = timezone(timedelta(hours=8))


def now_iso() -> str:
    return datetime.now(_CST).isoformat(timespec="milliseconds")


def encode_payload(payload: dict[str, Any]) -> str:
    """Canonical JSON of a payload (sorted keys, UTF-8 text, no NaN)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def enqueue(conn: sqlite3.Connection, *, kind: str, message_id: str, order_key: str,
            payload: dict[str, Any]) -> None:
    """Add one message to the outbox, inside the caller's transaction.

    ``message_id`` must be stable for the same content (for example
    ``f"{hall_id}:{kind}:{local_id}:{version}"``): enqueueing an id that is
    already in the outbox does nothing, so a retried write cannot send twice.
    ``order_key`` names the ordered stream the message belongs to (``"case:123"``):
    the sender never sends a message before every earlier message of the same
    key was acknowledged by the county.

    Raises ``ValueError`` for an unknown kind, a malformed id or key, or a
    payload that is not a JSON object; ``TypeError`` if the payload holds values
    JSON cannot carry. Either aborts the caller's transaction, as it should.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    if not _ID_RE.match(message_id):
        raise ValueError(f"message_id must be 1-200 characters of letters, digits and ._:-/ (got {message_id!r})")
    if not _ID_RE.match(order_key):
        raise ValueError(f"order_key must be 1-200 characters of letters, digits and ._:-/ (got {order_key!r})")
    if not isinstance(payload, dict):
        raise ValueError("payload must be a dict (a JSON object)")
    body = encode_payload(payload)
    conn.execute(
        "INSERT INTO outbox (message_id, kind, order_key, payload, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (message_id) DO NOTHING",
        (message_id, kind, order_key, body, now_iso()),
    )


def drain_view(rec: dict[str, Any], backlog: int) -> dict[str, Any]:
    """Drain progress for a screen: sent, remaining, percent, rate, ETA."""
    sent = int(rec.get("sent") or 0)
    seconds = float(rec.get("seconds") or 0.0)
    finished = rec.get("finished_at")
    rate = sent / seconds if seconds > 0 else 0.0
    total = sent + backlog
    return {
        "started_at": rec.get("started_at"),
        "finished_at": finished,
        "start_backlog": rec.get("start_backlog"),
        "sent": sent,
        "remaining": 0 if finished else backlog,
        "percent": 100.0 if finished or total == 0 else round(100.0 * sent / total, 1),
        "rate_per_second": round(rate, 1),
        "eta_seconds": None if finished or rate <= 0 else round(backlog / rate, 1),
    }


def put_state(c: sqlite3.Connection, key: str, value: str) -> None:
    """Set one key of the relay's own state table (drain record, last error, sync cursors)."""
    c.execute("INSERT INTO relay_state (key, value, updated_at) VALUES (?, ?, ?)"
              " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
              (key, value, now_iso()))


# --------------------------------------------------------------------------- outbox queries (also for the CLI)

def outbox_status(db: Database) -> dict[str, Any]:
    """What the database alone says about the relay (works without a running relay)."""
    c = db.conn
    backlog = c.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    dead = c.execute("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
    oldest = c.execute("SELECT created_at FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1").fetchone()
    blocked = 0
    if dead:
        blocked = c.execute(
            "SELECT COUNT(*) FROM outbox p WHERE p.state = 'pending' AND EXISTS"
            " (SELECT 1 FROM outbox d WHERE d.order_key = p.order_key AND d.state = 'dead' AND d.id < p.id)"
        ).fetchone()[0]
    state = {r[0]: r[1] for r in c.execute("SELECT key, value FROM relay_state")}
    age = None
    if oldest is not None:
        age = round(time.time() - datetime.fromisoformat(oldest[0]).timestamp(), 1)
    drain = last_drain = None
    if state.get("drain"):
        try:
            rec = json.loads(state["drain"])
        except ValueError:
            rec = None
        if isinstance(rec, dict):
            if rec.get("finished_at"):
                last_drain = drain_view(rec, 0)
            else:  # a drain in progress (or cut short by a stop): progress from the database
                drain = drain_view(rec, backlog)
    return {
        "configured": False,
        "backlog": backlog,
        "oldest_pending_at": oldest[0] if oldest else None,
        "oldest_pending_age_seconds": age,
        "dead_letters": dead,
        "blocked_by_dead_letters": blocked,
        "last_success_at": state.get("last_success_at"),
        "last_error": state.get("last_error"),
        "last_error_at": state.get("last_error_at"),
        "drain": drain,
        "last_drain": last_drain,
    }


def dead_letters(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Dead letters, newest first, without their payloads (those hold personal data)."""
    rows = db.conn.execute(
        "SELECT id, message_id, kind, order_key, created_at, dead_at, dead_code, dead_reason, attempts, retried"
        " FROM outbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows]


def retry_dead_letter(db: Database, row_id: int, actor: str, remote: str | None = None) -> bool:
    """Put a dead letter back in line (after the cause was fixed). False if there is no such dead letter."""
    with db.write() as c:
        row = c.execute("SELECT message_id, dead_code FROM outbox WHERE id = ? AND state = 'dead'",
                        (row_id,)).fetchone()
        if row is None:
            return False
        c.execute("UPDATE outbox SET state = 'pending', retried = retried + 1 WHERE id = ?", (row_id,))
        c.execute("INSERT INTO audit (at, actor, action, target, detail, remote) VALUES (?, ?, ?, ?, ?, ?)",
                  (now_iso(), actor, "relay.retry", row["message_id"], row["dead_code"] or "", remote))
    log.info("dead letter %d (%s) put back in line by %s", row_id, row["message_id"], actor)
    return True


def prune_acked(db: Database, keep_days: int, chunk: int = 5000) -> int:
    """Delete acknowledged rows older than `keep_days` (never pending or dead ones)."""
    cutoff = (datetime.fromisoformat(now_iso()) - timedelta(days=keep_days)).isoformat(timespec="milliseconds")
    total = 0
    while True:
        with db.write() as c:
            n = c.execute("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'acked'"
                          " AND acked_at < ? LIMIT ?)", (cutoff, chunk)).rowcount
        total += n
        if n < chunk:
            return total
