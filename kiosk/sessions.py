"""Staff sign-in: PIN check, session tokens kept in SQLite, lockout after failures.

Tokens live in the database (hashed) so a service restart does not throw
clerks off their windows; only the token's hash is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hall.config.schema import HallConfig, Staff
from hall.queue.clock import Clock, iso, parse_iso
from hall.queue.errors import QueueError
from hall.security import verify_pin
from hall.store.db import Database

SESSION_HOURS = 12
MAX_FAILURES = 5
LOCK_SECONDS = 300


@dataclass(frozen=True)
class Session:
    token_hash: str
    staff_id: str
    name: str
    role: str
    post: str
    window: int | None

    def public(self) -> dict[str, Any]:
        return {"staff_id": self.staff_id, "name": self.name, "role": self.role, "post": self.post,
                "window": self.window}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, db: Database, config: HallConfig, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, staff_id: str, pin: str) -> Staff:
        """The staff member for this id and PIN; repeated failures lock the id for a while."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(staff_id, []) if now - t < LOCK_SECONDS]
            self._failures[staff_id] = recent
            if len(recent) >= MAX_FAILURES:
                raise QueueError("locked", "密码错误次数过多，请 5 分钟后再试", 429)
        staff = self.config.staff_member(staff_id)
        if staff is None or not verify_pin(pin, staff.pin_hash):
            with self._lock:
                self._failures.setdefault(staff_id, []).append(now)
            raise QueueError("bad_credentials", "工号或密码错误", 401)
        with self._lock:
            self._failures.pop(staff_id, None)
        return staff

    def create(self, staff: Staff, window: int | None) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.db.write() as c:
            c.execute(
                "INSERT INTO auth_sessions (token_hash, staff_id, role, window, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_hash(token), staff.id, staff.role, window, iso(now), iso(now + timedelta(hours=SESSION_HOURS))),
            )
            c.execute("DELETE FROM auth_sessions WHERE expires_at < ?", (iso(now),))
        return token

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        row = self.db.conn.execute(
            "SELECT * FROM auth_sessions WHERE token_hash = ?", (_hash(token),)
        ).fetchone()
        if row is None or parse_iso(row["expires_at"]) < self.clock.now():
            return None
        staff = self.config.staff_member(row["staff_id"])
        if staff is None:  # removed from the config since sign-in
            return None
        return Session(row["token_hash"], staff.id, staff.name, staff.role, staff.post, row["window"])

    def delete(self, token: str) -> None:
        with self.db.write() as c:
            c.execute("DELETE FROM auth_sessions WHERE token_hash = ?", (_hash(token),))
