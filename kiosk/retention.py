"""Daily pruning by the retention settings: old tickets, events and audit rows; personal data in sent messages.

Tickets, ticket events and audit rows are kept `[retention] days` (default
400, never under 183: 等保2.0 asks six months for the audit trail). They go
in small batches, one short write transaction each with a pause between, so
a clerk's call never waits behind a pruning run. Records that point at a
pruned ticket (a case, a rating) keep their row and lose only the link.

Relay messages the county acknowledged lose their personal fields
(applicant, certificate number, phone, names) `relay_acked_days` after the
acknowledgement: the county holds them, the hall no longer needs them. The
rows themselves, with ids and acknowledgements, stay as long as the rest.

The audit trail may be hash-chained (hall.store.audit_chain): then its own
`prune_audit(conn, before)` deletes and anchors the chain; a plain audit
table is pruned here in batches.
"""

from __future__ import annotations

import importlib
import json
import logging
import sqlite3
import threading
from datetime import date, datetime, timedelta
from typing import Any

from hall.config.schema import Retention
from hall.store.db import Database

log = logging.getLogger(__name__)

PERSONAL_KEYS = frozenset({"applicant", "agent", "cert_no", "phone", "name", "contact_name", "contact_phone",
                           "person_key", "id_number"})
PRUNED_MARK = "_personal_data_pruned"


def _strip_personal(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        out, hit = {}, False
        for k, v in value.items():
            if k in PERSONAL_KEYS:
                hit = True
                continue
            out[k], sub = _strip_personal(v)
            hit = hit or sub
        return out, hit
    if isinstance(value, list):
        items = [_strip_personal(v) for v in value]
        return [v for v, _ in items], any(h for _, h in items)
    return value, False


# Rows that only describe a ticket and are deleted with it (a card holder's keyed hash included).
_GO_WITH_TICKET = ("ticket_events", "ticket_holders")

class Pruner:
    def __init__(self, db: Database, settings: Retention, *, pause: float = 0.02) -> None:
        self.db = db
        self.settings = settings
        self.pause = pause
        self._stop = threading.Event()
        self.last_day: date | None = None
        self.last_result: dict[str, int] = {}

    def stop(self) -> None:
        self._stop.set()

    def tick(self, now: datetime) -> dict[str, int] | None:
        """Once a day (the housekeeping thread calls this often)."""
        if self.last_day == now.date():
            return None
        self.last_day = now.date()
        return self.run(now)

    def run(self, now: datetime) -> dict[str, int]:
        keep = timedelta(days=self.settings.days)
        result = {
            "tickets": self.prune_tickets((now - keep).date()),
            "audit": self.prune_audit(now - keep),
            "relay_payloads": self.scrub_relay(now - timedelta(days=self.settings.relay_acked_days)),
            "pauses": self.prune_pauses((now - keep).date()),
        }
        self.last_result = result
        if any(result.values()):
            log.info("retention: pruned %(tickets)d tickets, %(audit)d audit rows, "
                     "personal data of %(relay_payloads)d acknowledged relay messages", result)
        return result

    def prune_pauses(self, before: date) -> int:
        """Pause records (break-time figures) live as long as the tickets of their days; a few a day, one go."""
        with self.db.write() as c:
            return c.execute("DELETE FROM window_pauses WHERE substr(started_at, 1, 10) < ? AND ended_at IS NOT NULL",
                             (before.isoformat(),)).rowcount

    def _yield(self) -> bool:
        """Let the hall's writers in between batches; False when the service is stopping."""
        return not self._stop.wait(self.pause)

    # ------------------------------------------------------------------ tickets
    def _ticket_refs(self, c: sqlite3.Connection) -> list[tuple[str, str, bool]]:
        """(table, column, nullable) of every column that references tickets(id)."""
        refs = []
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            cols = {r[1]: not r[3] for r in c.execute(f'PRAGMA table_info("{t}")')}
            for fk in c.execute(f'PRAGMA foreign_key_list("{t}")'):
                if fk[2] == "tickets":
                    refs.append((t, fk[3], cols.get(fk[3], True)))
        return refs

    def prune_tickets(self, before: date) -> int:
        """Tickets of service days before `before`, their events; links to them from records set to NULL."""
        total = 0
        refs = self._ticket_refs(self.db.conn)
        # A ticket a NOT NULL column of some other record still needs is kept (ticket_events go with it).
        blockers = " ".join(f'AND NOT EXISTS (SELECT 1 FROM "{t}" x WHERE x."{col}" = tickets.id)'
                            for t, col, nullable in refs if not nullable and t not in (*_GO_WITH_TICKET, "tickets"))
        while True:
            with self.db.write() as c:
                ids = [r[0] for r in c.execute(
                    f"SELECT id FROM tickets WHERE service_date < ? {blockers} ORDER BY id LIMIT ?",
                    (before.isoformat(), self.settings.batch_rows))]
                if not ids:
                    return total
                marks = ",".join("?" * len(ids))
                for t, col, nullable in refs:
                    if t in _GO_WITH_TICKET:
                        c.execute(f'DELETE FROM "{t}" WHERE ticket_id IN ({marks})', ids)
                    elif nullable:
                        c.execute(f'UPDATE "{t}" SET "{col}" = NULL WHERE "{col}" IN ({marks})', ids)
                c.execute(f"DELETE FROM tickets WHERE id IN ({marks})", ids)
            total += len(ids)
            if len(ids) < self.settings.batch_rows or not self._yield():
                return total

    # ------------------------------------------------------------------ audit
    def prune_audit(self, before: datetime) -> int:
        """Audit rows older than `before`: through the hash chain's own hook when there is one."""
        try:
            chain = importlib.import_module("hall.store.audit_chain")
        except ImportError:
            chain = None
        c = self.db.conn
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "audit" not in tables:
            return 0
        if chain is not None and "audit_anchor" in tables:
            with self.db._write_lock:  # the hook runs its own transaction on this connection
                n: int = chain.prune_audit(c, before)
            return n
        cutoff = before.isoformat(timespec="milliseconds")
        total = 0
        while True:
            with self.db.write() as w:
                n = w.execute("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY id LIMIT ?)",
                              (cutoff, self.settings.batch_rows)).rowcount
            total += n
            if n < self.settings.batch_rows or not self._yield():
                return total

    # ------------------------------------------------------------------ relay
    def scrub_relay(self, acked_before: datetime) -> int:
        """Remove personal fields from messages the county acknowledged before `acked_before`."""
        cutoff = acked_before.isoformat(timespec="milliseconds")
        total, last_id = 0, 0
        while True:
            with self.db.write() as c:
                rows = c.execute(
                    "SELECT id, payload FROM outbox WHERE state = 'acked' AND acked_at < ? AND id > ? "
                    "AND payload NOT LIKE ? ORDER BY id LIMIT ?",
                    (cutoff, last_id, f'%"{PRUNED_MARK}"%', self.settings.batch_rows)).fetchall()
                for row_id, payload in rows:
                    try:
                        doc = json.loads(payload)
                    except ValueError:
                        continue
                    stripped, hit = _strip_personal(doc)
                    if hit:
                        stripped[PRUNED_MARK] = acked_before.date().isoformat()
                        c.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                                  (json.dumps(stripped, ensure_ascii=False, sort_keys=True), row_id))
                        total += 1
            if not rows:
                return total
            last_id = rows[-1][0]
            if len(rows) < self.settings.batch_rows or not self._yield():
                return total
