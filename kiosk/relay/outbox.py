"""The outbox: records bound for the county, written with the record itself.

The records code calls :func:`enqueue` inside its own write transaction, on the
same connection, so a case (or rating, complaint…) and the message that carries
it to the county commit together or not at all (DESIGN.md §8). The sender
thread (:mod:`hall.relay.sender`) reads pending rows and marks them acknowledged
only after the county answered; nothing is deleted before that.

Payloads keep semantic values (satisfaction level names, status names); the
conversion to platform codes and the trimming to the fields the county needs
happen once, at send time, in :mod:`hall.relay.wire`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import Any

#: Message kinds the county understands (docs/county-api.yaml, `Message.kind`).
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
