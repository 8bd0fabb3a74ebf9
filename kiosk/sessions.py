"""Staff sign-in: PIN check, session tokens kept in SQLite, lockout after failures.

Tokens live in the database (hashed) so a service restart does not throw
clerks off their windows; only the token's hash is stored.

Staff come from the config. People kept in the database instead (village
agents, administered by the manager) sign in through `authenticate_principal`
and are looked up again on every request by the resolver their part of the
service registers for their role, so disabling an agent or moving them to
another village takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
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
    village_id: int | None = None      # agents: the one village whose records they may see and change

    def public(self) -> dict[str, Any]:
        out = {"staff_id": self.staff_id, "name": self.name, "role": self.role, "post": self.post,
               "window": self.window}
        if self.village_id is not None:
            out["village_id"] = self.village_id
        return out


@dataclass(frozen=True)
class Principal:
    """Someone who signs in but is not config staff (a village agent): resolved from the database."""

    id: str                 # unique across roles, e.g. "agent:7"
    name: str
    role: str
    post: str = ""
    village_id: int | None = None


#: role -> look-up of a principal by id (None when removed or disabled since sign-in)
Resolver = Callable[[str], "Principal | None"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, db: Database, config: HallConfig, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._resolvers: dict[str, Resolver] = {}

    def register_resolver(self, role: str, resolver: Resolver) -> None:
        """Let principals of `role` (kept outside the config) hold sessions."""
        if role in ("clerk", "manager", "technician"):
            raise ValueError(f"role {role} belongs to config staff")
        self._resolvers[role] = resolver

    def _check_lock(self, key: str) -> float:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < LOCK_SECONDS]
            self._failures[key] = recent
            if len(recent) >= MAX_FAILURES:
                raise QueueError("locked", "密码错误次数过多，请 5 分钟后再试", 429)
        return now

    def _settle(self, key: str, ok: bool, now: float) -> None:
        with self._lock:
            if ok:
                self._failures.pop(key, None)
            else:
                self._failures.setdefault(key, []).append(now)

    def authenticate(self, staff_id: str, pin: str) -> Staff:
        """The staff member for this id and PIN; repeated failures lock the id for a while."""
        now = self._check_lock(staff_id)
        staff = self.config.staff_member(staff_id)
        if staff is None or not verify_pin(pin, staff.pin_hash):
            self._settle(staff_id, False, now)
            raise QueueError("bad_credentials", "工号或密码错误", 401)
        self._settle(staff_id, True, now)
        return staff

    def authenticate_principal(self, key: str, check: Callable[[], Principal | None],
                               message: str = "账号或密码错误") -> Principal:
        """Sign-in for database principals with the same lockout as staff; `check` verifies the PIN."""
        now = self._check_lock(key)
        who = check()
        self._settle(key, who is not None, now)
        if who is None:
            raise QueueError("bad_credentials", message, 401)
        return who

    def create(self, staff: Staff | Principal, window: int | None) -> str:
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
        resolver = self._resolvers.get(row["role"])
        if resolver is not None:
            who = resolver(row["staff_id"])
            if who is None or who.role != row["role"]:   # disabled or removed since sign-in
                return None
            return Session(row["token_hash"], who.id, who.name, who.role, who.post, None, who.village_id)
        staff = self.config.staff_member(row["staff_id"])
        if staff is None:  # removed from the config since sign-in
            return None
        return Session(row["token_hash"], staff.id, staff.name, staff.role, staff.post, row["window"])

    def delete(self, token: str) -> None:
        with self.db.write() as c:
            c.execute("DELETE FROM auth_sessions WHERE token_hash = ?", (_hash(token),))
