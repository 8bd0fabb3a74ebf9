"""Paired devices: one-time codes a technician makes, device tokens the paired tablet/kiosk keeps.

WHY: the window tablet's rating and the kiosk's reprint are citizen actions
without a sign-in, so "who may do this" is "which device asks". A short code
shown on /tech and typed on the device proves a technician stood at it; the
long token it gets back proves it afterwards. Only SHA-256 hashes are stored
(codes and tokens are random, so a plain hash is enough; no salt needed).
A 6-digit code is guessable, hence: it lives 10 minutes, dies after 5 wrong
tries, and guesses are limited per address and for the whole hall.
Knows nothing of Flask: the web layer passes the client address and actor.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from hall.queue.clock import Clock, iso
from hall.store.db import Database

log = logging.getLogger(__name__)

CODE_MINUTES = 10
CODE_WRONG_TRIES = 5
ADDRESS_GUESSES_PER_10_MIN = 10
HALL_GUESSES_PER_10_MIN = 60
GUESS_WINDOW_S = 600.0
SEEN_EVERY_S = 60.0


class PairingError(Exception):
    """A refusal with a user-facing (Chinese) message and the HTTP status it maps to."""

    # dup-ok: coded errors (code, message, status) like manage/staff_photos.py PhotoError, for another API
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class PairedDevice:
    id: int
    kind: str
    window: int | None
    kiosk: str | None
    name: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def device_name(kind: str, window: int | None, kiosk: str | None) -> str:
    return f"{window}号窗口评价器" if kind == "evaluator" else f"自助终端 {kiosk}"


def _page_name(expect: tuple[str, int | None, str | None]) -> str:
    kind, window, kiosk = expect
    return "自助终端" if kind == "kiosk" and kiosk is None else device_name(kind, window, kiosk)


def create_code(db: Database, clock: Clock, *, kind: str, window: int | None, kiosk: str | None,
                by: str, minutes: int = CODE_MINUTES) -> dict[str, Any]:
    """A new pairing awaiting its device; the plain code is returned once and never stored."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = time.time() + minutes * 60
    name = device_name(kind, window, kiosk)
    with db.write() as c:
        # a live code must be unique, or one guess would pair whichever device the hash matches first
        while c.execute("SELECT 1 FROM device_pairings WHERE code_hash = ?", (_hash(code),)).fetchone():
            code = f"{secrets.randbelow(1_000_000):06d}"
        cur = c.execute(
            "INSERT INTO device_pairings (kind, window_no, kiosk_id, name, code_hash, code_expires, created_at,"
            " created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, window, kiosk, name, _hash(code), expires, iso(clock.now()), by))
    return {"id": cur.lastrowid, "code": code, "name": name, "kind": kind, "window": window, "kiosk": kiosk,
            "expires_in_s": minutes * 60}


def _fits(kind: str, window: int | None, kiosk: str | None, expect: tuple[str, int | None, str | None]) -> bool:
    """Whether a pairing is for the page the code was typed on (a kiosk page without an id takes any kiosk)."""
    want_kind, want_window, want_kiosk = expect
    if kind != want_kind:
        return False
    return window == want_window if kind == "evaluator" else want_kiosk is None or kiosk == want_kiosk


def redeem(db: Database, clock: Clock, code: str, remote: str,
           expect: tuple[str, int | None, str | None] | None = None
           ) -> tuple[str, PairedDevice, list[tuple[int, str]]]:
    """Trade a code for a device token (returned once). Raises PairingError on any refusal.

    `expect` (kind, window, kiosk) is the page the code is typed on: a code made for another
    window or kiosk is refused and stays usable, so a slip of the technician costs no new code.

    One device per window tablet and per kiosk: the new pairing revokes the older ones of the same
    window/kiosk in the same transaction (returned as (id, name) for the audit trail), so a tablet
    that was replaced, lost or taken home stops working the moment its successor is paired.
    """
    now = time.time()
    with db.write() as c:
        c.execute("DELETE FROM pairing_attempts WHERE at < ?", (now - GUESS_WINDOW_S,))
        mine = c.execute("SELECT COUNT(*) FROM pairing_attempts WHERE remote = ? AND ok = 0",
                         (remote,)).fetchone()[0]
        hall = c.execute("SELECT COUNT(*) FROM pairing_attempts WHERE ok = 0").fetchone()[0]
        if mine >= ADDRESS_GUESSES_PER_10_MIN or hall >= HALL_GUESSES_PER_10_MIN:
            raise PairingError("pairing_throttled", "配对码错误次数过多，请 10 分钟后再试或请技术员重新生成配对码", 429)
        row = c.execute("SELECT id, kind, window_no, kiosk_id, name, code_expires FROM device_pairings"
                        " WHERE code_hash = ? AND revoked_at IS NULL", (_hash(code),)).fetchone()
        failed = row is None or row[5] is None or row[5] < now
        if not failed and expect is not None and not _fits(row[1], row[2], row[3], expect):
            raise PairingError("pairing_wrong_device",
                               f"此配对码是为「{row[4]}」生成的，不是本机（{_page_name(expect)}）；"
                               "请在对应设备上输入，或请技术员为本机生成配对码", 409)
        if failed:
            c.execute("INSERT INTO pairing_attempts (remote, at) VALUES (?, ?)", (remote, now))
            # every live code takes a wrong try: after 5, none of them can be guessed any more
            c.execute("UPDATE device_pairings SET wrong_tries = wrong_tries + 1 WHERE code_hash IS NOT NULL")
            c.execute("UPDATE device_pairings SET code_hash = NULL WHERE wrong_tries >= ?", (CODE_WRONG_TRIES,))
        else:
            token = secrets.token_urlsafe(32)
            c.execute("UPDATE device_pairings SET code_hash = NULL, code_expires = NULL, token_hash = ?,"
                      " paired_at = ?, last_seen = ? WHERE id = ?", (_hash(token), iso(clock.now()), now, row[0]))
            replaced = [(r[0], r[1]) for r in c.execute(
                "SELECT id, name FROM device_pairings WHERE id != ? AND kind = ? AND window_no IS ? AND kiosk_id IS ?"
                " AND token_hash IS NOT NULL AND revoked_at IS NULL", (row[0], row[1], row[2], row[3]))]
            c.executemany("UPDATE device_pairings SET revoked_at = ? WHERE id = ?",
                          [(iso(clock.now()), pid) for pid, _ in replaced])
            c.execute("INSERT INTO pairing_attempts (remote, at, ok) VALUES (?, ?, 1)", (remote, now))
    if failed:   # raised after the commit: the counted guess must not roll back with the error
        expired = row is not None
        raise PairingError("pairing_code_expired" if expired else "pairing_code_wrong",
                           "配对码已过期，请技术员重新生成" if expired else "配对码不正确，请核对技术员页面上的配对码",
                           410 if expired else 403)
    return token, PairedDevice(row[0], row[1], row[2], row[3], row[4]), replaced


def device_for_token(db: Database, token: str) -> PairedDevice | None:
    """The live paired device holding `token`, or None (unknown or revoked)."""
    if not token or len(token) > 200:
        return None
    with db.read() as c:
        row = c.execute("SELECT id, kind, window_no, kiosk_id, name, last_seen FROM device_pairings"
                        " WHERE token_hash = ? AND revoked_at IS NULL", (_hash(token),)).fetchone()
    if row is None:
        return None
    now = time.time()
    if row[5] is None or now - row[5] > SEEN_EVERY_S:   # "last seen" on /tech, without a write per request
        try:
            with db.write() as c:
                c.execute("UPDATE device_pairings SET last_seen = ? WHERE id = ?", (now, row[0]))
        except sqlite3.Error as exc:   # a busy or full disk must not refuse the device's own request
            log.warning("pairing %s: last seen not stored (%s)", row[0], exc)
    return PairedDevice(*row[:5])


def list_pairings(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Every pairing, newest first, for /tech (no hashes)."""
    now = time.time()
    with db.read() as c:
        rows = c.execute("SELECT id, kind, window_no, kiosk_id, name, code_hash IS NOT NULL AND code_expires > ?,"
                         " token_hash IS NOT NULL, created_at, created_by, paired_at, revoked_at, code_expires,"
                         " last_seen FROM device_pairings ORDER BY id DESC LIMIT ?", (now, limit)).fetchall()
    out = []
    for r in rows:
        state = "revoked" if r[10] else "paired" if r[6] else "waiting" if r[5] else "expired"
        out.append({"id": r[0], "kind": r[1], "window": r[2], "kiosk": r[3], "name": r[4], "state": state,
                    "created_at": r[7], "created_by": r[8], "paired_at": r[9], "revoked_at": r[10],
                    "expires_in_s": max(0, round(r[11] - now)) if state == "waiting" else None,
                    "last_seen": round(r[12]) if r[12] else None})   # unix seconds
    return out


def revoke(db: Database, clock: Clock, pairing_id: int) -> dict[str, Any] | None:
    """Revoke a pairing (its code and token stop working at once); None if there is no such pairing."""
    with db.write() as c:
        row = c.execute("SELECT name FROM device_pairings WHERE id = ?", (pairing_id,)).fetchone()
        if row is None:
            return None
        c.execute("UPDATE device_pairings SET revoked_at = COALESCE(revoked_at, ?), code_hash = NULL"
                  " WHERE id = ?", (iso(clock.now()), pairing_id))
    return {"id": pairing_id, "name": row[0], "state": "revoked"}


def demo_codes(db: Database, clock: Clock, windows: list[int], kiosks: list[str],
               minutes: int = CODE_MINUTES) -> list[dict[str, Any]]:
    """The demo hall's start-up codes: one per window tablet and kiosk, printed in the banner.

    WHY codes and not pre-made tokens: even a demo on a real LAN must not hand a token to
    whoever asks; the person at the console reads the code and types it on the device.
    """
    made = [create_code(db, clock, kind="evaluator", window=w, kiosk=None, by="demo", minutes=minutes)
            for w in windows]
    made += [create_code(db, clock, kind="kiosk", window=None, kiosk=k, by="demo", minutes=minutes)
             for k in kiosks]
    return made
