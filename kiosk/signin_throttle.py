"""How many PIN checks an account may get: a budget kept in SQLite, not in memory.

A hall LAN is open to whoever plugs in, so sign-in must resist guessing without
letting a stranger lock staff out. Every check is *reserved* in one
`BEGIN IMMEDIATE` transaction that first reads the budget, so any number of
parallel requests (threads or processes) cannot get more checks than the budget
allows, and a restart forgets nothing.

The budget, per account and rolling hour (a successful check is not a guess and
does not count):
- at most `ACCOUNT_BUDGET` (10) failed checks from the whole LAN;
- at most `ADDRESS_BUDGET` (4) of them from any one client address;
- addresses that have not signed in to this account before share at most
  `STRANGER_BUDGET` (8): the last checks are kept for the PCs its owner uses;
- one address may fail at most `ADDRESS_ALL_ACCOUNTS` (20) checks over all
  accounts (no spraying one guess at every clerk).
So a flood from one address gets 4 checks and is then refused at once (429,
no PBKDF2 work), while the right PIN from any other address is checked
straight away: there is no lock-out anyone can cause from one machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from hall.store.db import Database

HOUR = 3600.0
ACCOUNT_BUDGET = 10
ADDRESS_BUDGET = 4
STRANGER_BUDGET = 8
ADDRESS_ALL_ACCOUNTS = 20
KNOWN_DAYS = 90


@dataclass(frozen=True)
class Refusal:
    """Why a check was not run, and when it may be tried again."""

    reason: str          # address | account | strangers | spray
    retry_after: int     # seconds

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        if self.reason in ("address", "spray"):
            return f"本机登录失败次数过多，请 {minutes} 分钟后再试，或到本人常用的电脑上登录"
        return f"该账号近一小时密码错误次数过多，请 {minutes} 分钟后再试，或到本人常用的电脑上登录"


class SignInThrottle:
    """Reserve, then settle, each credential check of an account from a client address."""

    def __init__(self, db: Database, now: Callable[[], float] = time.time) -> None:
        self.db = db
        self.now = now

    def reserve(self, account: str, remote: str) -> int | Refusal:
        """The id of a reserved check, or why none may run now."""
        now = self.now()
        since = now - HOUR
        with self.db.write() as c:
            counted = "result != 'ok' AND at > ?"
            rows = c.execute(
                f"SELECT remote, at FROM auth_attempts WHERE account = ? AND {counted} ORDER BY at",
                (account, since),
            ).fetchall()
            known = {r[0] for r in c.execute(
                "SELECT remote FROM auth_known_addresses WHERE account = ? AND last_ok > ?",
                (account, now - KNOWN_DAYS * 86400),
            )}
            spray = c.execute(f"SELECT at FROM auth_attempts WHERE remote = ? AND {counted} ORDER BY at",
                              (remote, since)).fetchall()
            mine = [r[1] for r in rows if r[0] == remote]
            strangers = [r[1] for r in rows if r[0] not in known]
            refusal = None
            if len(mine) >= ADDRESS_BUDGET:
                refusal = Refusal("address", _wait(mine, ADDRESS_BUDGET, now))
            elif len(spray) >= ADDRESS_ALL_ACCOUNTS:
                refusal = Refusal("spray", _wait([r[0] for r in spray], ADDRESS_ALL_ACCOUNTS, now))
            elif len(rows) >= ACCOUNT_BUDGET:
                refusal = Refusal("account", _wait([r[1] for r in rows], ACCOUNT_BUDGET, now))
            elif remote not in known and len(strangers) >= STRANGER_BUDGET:
                refusal = Refusal("strangers", _wait(strangers, STRANGER_BUDGET, now))
            if refusal is not None:
                return refusal
            cur = c.execute("INSERT INTO auth_attempts (account, remote, at) VALUES (?, ?, ?)",
                            (account, remote, now))
            # keep the table small: a day is plenty to explain what happened (the audit keeps the rest)
            c.execute("DELETE FROM auth_attempts WHERE at < ?", (now - 86400,))
            return int(cur.lastrowid or 0)

    def settle(self, attempt_id: int, ok: bool) -> None:
        """Record the outcome; a success makes the address one the account's owner uses."""
        with self.db.write() as c:
            c.execute("UPDATE auth_attempts SET result = ? WHERE id = ?", ("ok" if ok else "fail", attempt_id))
            if ok:
                c.execute(
                    "INSERT INTO auth_known_addresses (account, remote, last_ok) "
                    "SELECT account, remote, ? FROM auth_attempts WHERE id = ? "
                    "ON CONFLICT (account, remote) DO UPDATE SET last_ok = excluded.last_ok",
                    (self.now(), attempt_id),
                )

    def checks(self, account: str, since: float) -> int:
        """Checks run for an account since a time (tests and the technician page count them)."""
        row = self.db.conn.execute("SELECT COUNT(*) FROM auth_attempts WHERE account = ? AND at >= ?",
                                   (account, since)).fetchone()
        return int(row[0])


def _wait(times: list[float], budget: int, now: float) -> int:
    """Seconds until enough of the counted `times` leave the hour for one more check."""
    oldest_that_must_expire = sorted(times)[len(times) - budget]
    return max(1, math.ceil(oldest_that_must_expire + HOUR - now))
