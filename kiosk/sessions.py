"""Staff sign-in: PIN/password check under a persistent budget, session tokens kept in SQLite.

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
from hall.manage.audit_log import record as audit_record
from hall.queue.clock import Clock, iso, parse_iso
from hall.queue.errors import QueueError
from hall.security import verify_pin
from hall.signin_throttle import Refusal, SignInThrottle
from hall.store.db import Database

SESSION_HOURS = 12
#: manager and technician accounts sign in with a password at least this long
PASSWORD_MIN = 8
# checked for unknown staff ids so a wrong id costs as long as a wrong PIN (no id enumeration by timing)
_DUMMY_HASH = "pbkdf2_sha256$120000$00000000000000000000000000000000$" + "0" * 64


class ThrottledError(QueueError):
    """429 with the seconds to wait (sent as Retry-After)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__("too_many_attempts", refusal.message, 429)
        self.retry_after = refusal.retry_after


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
        self.throttle = SignInThrottle(db)
        self._refusals_logged: dict[tuple[str, str], float] = {}   # one audit row a minute per flooder
        self._refusal_lock = threading.Lock()
        self._resolvers: dict[str, Resolver] = {}

    def register_resolver(self, role: str, resolver: Resolver) -> None:
        """Let principals of `role` (kept outside the config) hold sessions."""
        if role in ("clerk", "manager", "technician"):
            raise ValueError(f"role {role} belongs to config staff")
        self._resolvers[role] = resolver

    def audit(self, actor: str, role: str, action: str, target: str = "", detail: dict[str, Any] | str = "") -> None:
        audit_record(self.db, self.clock, actor, role, action, target, detail)

    def _audit_refusal(self, account: str, remote: str, role: str, refusal: Refusal) -> None:
        """A flood is hundreds of refusals: audit the first of each minute per account and address."""
        now = time.monotonic()
        with self._refusal_lock:
            if now - self._refusals_logged.get((account, remote), -60.0) < 60.0:
                return
            if len(self._refusals_logged) > 1000:
                self._refusals_logged = {k: t for k, t in self._refusals_logged.items() if now - t < 60.0}
            self._refusals_logged[(account, remote)] = now
        self.audit(account, role, "auth.throttled", f"account:{account}",
                   {"reason": refusal.reason, "retry_after": refusal.retry_after})

    def _checked(self, account: str, remote: str, check: Callable[[], bool], role: str) -> bool:
        """Run one credential check within the account's budget (429 when it is spent); audit the outcome."""
        reserved = self.throttle.reserve(account, remote or "?")
        if isinstance(reserved, Refusal):
            self._audit_refusal(account, remote, role, reserved)
            raise ThrottledError(reserved)
        ok = False
        try:
            ok = check()
        finally:
            self.throttle.settle(reserved, ok)
            self.audit(account, role, "auth.login" if ok else "auth.fail", f"account:{account}")
        return ok

    def authenticate(self, staff_id: str, pin: str, remote: str = "") -> Staff:
        """The staff member for this id and PIN (clerks) or password (manager, technician)."""
        staff = self.config.staff_member(staff_id)
        if staff is not None and staff.password_hash and len(pin) < PASSWORD_MIN:
            # cannot be the password: refused without spending a check of the budget
            self.audit(staff_id, staff.role, "auth.fail", f"account:{staff_id}", "too short for the password")
            raise QueueError("bad_credentials", "工号或密码错误", 401)
        stored = staff.secret_hash if staff is not None else _DUMMY_HASH
        role = staff.role if staff is not None else "unknown"
        if not self._checked(staff_id, remote, lambda: verify_pin(pin, stored), role) or staff is None:
            raise QueueError("bad_credentials", "工号或密码错误", 401)
        return staff

    def authenticate_principal(self, key: str, check: Callable[[], Principal | None],
                               message: str = "账号或密码错误", remote: str = "") -> Principal:
        """Sign-in for database principals under the same budget as staff; `check` verifies the PIN."""
        found: list[Principal] = []

        def run() -> bool:
            who = check()
            if who is not None:
                found.append(who)
            return who is not None

        if not self._checked(key, remote, run, "agent"):
            raise QueueError("bad_credentials", message, 401)
        return found[0]

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
