"""Hall broadcast (大厅广播): one message from the manager to the board, LED, voice and kiosk at once.

A broadcast lives in SQLite until it expires or is withdrawn, so a restart
brings an unexpired one straight back on every screen. Screens and devices
never ask for it on a timer: every change (sent, withdrawn, expired) is
published as `broadcast.changed` with the full list of active ones, and the
voice gets one `broadcast.announce` when a message is sent (the voice worker
orders it after any call already waiting: hall.drivers.voice.device). Spoken
repeats either follow one another (`voice_every_minutes` 0) or are spread out,
one every N minutes while the message lasts. A small thread wakes at the next
expiry or repeat to end the message and tell the screens, or to ask the voice
again; each end is written to the audit trail like the manager's own actions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from hall.queue.clock import Clock, iso, parse_iso
from hall.queue.errors import QueueError, invalid
from hall.security import redact_text
from hall.store.db import Database
from hall.timer_thread import TimerThread

log = logging.getLogger(__name__)

TARGETS = ("board", "led", "voice", "kiosk")
MAX_HOURS = 72            # a forgotten "系统维护" must not hang on the board for weeks
MAX_VOICE_TIMES = 5
MAX_VOICE_EVERY = 60      # minutes between spoken repeats
#: the expiry thread looks again at least this often (a clock change, a missed wake)
RECHECK_SECONDS = 60.0

Publish = Callable[[str, dict[str, Any]], object]


class Broadcasts(TimerThread):
    thread_name = "broadcast-expiry"

    def __init__(self, db: Database, clock: Clock, publish: Publish | None = None) -> None:
        self.db = db
        self.clock = clock
        self.publish: Publish = publish or (lambda kind, data: None)
        self._init_thread()
        # What was last published: device workers read this copy, so they never open a connection of their own.
        self._published: list[dict[str, Any]] = self.active()

    # ------------------------------------------------------------------ writes
    def send(self, message: str, targets: Sequence[str], expires_at: datetime, author: str, *,
             voice_times: int = 1, voice_every_minutes: int = 0) -> dict[str, Any]:
        text = " ".join(redact_text(message).split())      # one line: the LED row and the banner are one line
        if not text:
            raise invalid("广播内容不能为空")
        if len(text) > 200:
            raise invalid("广播内容最多 200 字")
        chosen = [t for t in TARGETS if t in set(targets)]
        unknown = sorted(set(targets) - set(TARGETS))
        if unknown or not chosen:
            raise invalid("请至少选择一个播放位置：大屏、LED 屏、语音、自助终端")
        now = self.clock.now()
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=now.tzinfo)
        if expires_at <= now:
            raise invalid("到期时间须晚于现在")
        if expires_at - now > timedelta(hours=MAX_HOURS):
            raise invalid(f"广播最长持续 {MAX_HOURS} 小时，请缩短到期时间")
        expires_at = expires_at.astimezone(now.tzinfo)      # in range now, so this cannot overflow
        times = voice_times if "voice" in chosen else 0
        if not 0 <= times <= MAX_VOICE_TIMES or ("voice" in chosen and times < 1):
            raise invalid(f"语音播报次数须为 1–{MAX_VOICE_TIMES} 次")
        if not 0 <= voice_every_minutes <= MAX_VOICE_EVERY:
            raise invalid(f"语音播报间隔须为 0–{MAX_VOICE_EVERY} 分钟")
        every = voice_every_minutes if times > 1 else 0
        # spread out: the first now, the rest by the expiry thread; else all now, one after another
        first = 1 if every and times else times
        next_at = iso(now + timedelta(minutes=every)) if every and times > 1 else None
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO broadcasts (message, targets, voice_times, created_at, expires_at, author, "
                "voice_every_minutes, voice_done, voice_next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (text, json.dumps(chosen), times, iso(now), iso(expires_at), author, every, first, next_at))
            bid = int(cur.lastrowid or 0)
            c.execute("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, 'broadcast.send', ?, ?)",
                      (iso(now), author, str(bid), json.dumps({"message": text, "targets": chosen,
                                                               "expires_at": iso(expires_at),
                                                               "voice_times": times,
                                                               "voice_every_minutes": every}, ensure_ascii=False)))
        item = self.get(bid)
        self._changed()
        if first:
            self.publish("broadcast.announce", {"id": bid, "text": text, "times": first,
                                                "expires_at": item["expires_at"]})
        return item

    def withdraw(self, broadcast_id: int, actor: str) -> dict[str, Any]:
        item = self.get(broadcast_id)
        if item["ended_at"]:
            raise QueueError("conflict", "该广播已结束", 409)
        now = iso(self.clock.now())
        with self.db.write() as c:
            c.execute("UPDATE broadcasts SET ended_at = ?, ended_by = ?, end_reason = 'withdrawn' "
                      "WHERE id = ? AND ended_at IS NULL", (now, actor, broadcast_id))
            c.execute("INSERT INTO audit (at, actor, action, target) VALUES (?, ?, 'broadcast.withdraw', ?)",
                      (now, actor, str(broadcast_id)))
        self._changed()
        return self.get(broadcast_id)

    def expire_due(self) -> list[int]:
        """End every broadcast whose time is up (audited as the system's act); the ids ended."""
        now = self.clock.now()
        due = [r["id"] for r in self.db.conn.execute(
            "SELECT id, expires_at FROM broadcasts WHERE ended_at IS NULL") if parse_iso(r["expires_at"]) <= now]
        if not due:
            return []
        with self.db.write() as c:
            for bid in due:
                c.execute("UPDATE broadcasts SET ended_at = ?, ended_by = 'system', end_reason = 'expired' "
                          "WHERE id = ? AND ended_at IS NULL", (iso(now), bid))
                c.execute("INSERT INTO audit (at, actor, action, target) VALUES (?, 'system', 'broadcast.expire', ?)",
                          (iso(now), str(bid)))
        self._changed()
        return due

    def announce_due(self) -> list[int]:
        """Ask the voice for each spread-out repeat whose time has come (the ids asked for)."""
        now = self.clock.now()
        rows = self.db.conn.execute(
            "SELECT id, message, expires_at, voice_times, voice_done, voice_every_minutes, voice_next_at "
            "FROM broadcasts WHERE ended_at IS NULL AND voice_next_at IS NOT NULL").fetchall()
        due = [r for r in rows if parse_iso(r["voice_next_at"]) <= now < parse_iso(r["expires_at"])]
        for r in due:
            done = r["voice_done"] + 1
            # from now, not from when it was due: after a restart the missed repeats are not made up in a burst
            nxt = iso(now + timedelta(minutes=r["voice_every_minutes"])) if done < r["voice_times"] else None
            with self.db.write() as c:
                c.execute("UPDATE broadcasts SET voice_done = ?, voice_next_at = ? WHERE id = ?", (done, nxt, r["id"]))
            self.publish("broadcast.announce", {"id": r["id"], "text": r["message"], "times": 1,
                                                "expires_at": r["expires_at"]})
        return [r["id"] for r in due]

    # ------------------------------------------------------------------ reads
    def get(self, broadcast_id: int) -> dict[str, Any]:
        row = self.db.conn.execute("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)).fetchone()
        if row is None:
            raise QueueError("not_found", "广播不存在", 404)
        return _view(dict(row))

    def active(self) -> list[dict[str, Any]]:
        """What the screens show now: unexpired, not withdrawn, newest first (no author: public)."""
        now = self.clock.now()
        rows = self.db.conn.execute(
            "SELECT * FROM broadcasts WHERE ended_at IS NULL ORDER BY id DESC").fetchall()
        return [{k: v for k, v in _view(dict(r)).items() if k in ("id", "message", "targets", "created_at",
                                                                 "expires_at")}
                for r in rows if parse_iso(r["expires_at"]) > now]

    def current(self) -> list[dict[str, Any]]:
        """The active list as last published, less any whose time is up since (no database read)."""
        now = self.clock.now()
        return [b for b in self._published if parse_iso(b["expires_at"]) > now]

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return [_view(dict(r)) for r in self.db.conn.execute(
            "SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,))]

    # ------------------------------------------------------------------ expiry thread

    def _next_wait(self) -> float:
        times = [parse_iso(t) for r in self.db.conn.execute(
            "SELECT expires_at, voice_next_at FROM broadcasts WHERE ended_at IS NULL") for t in r if t]
        if not times:
            return RECHECK_SECONDS
        left = (min(times) - self.clock.now()).total_seconds()
        return min(RECHECK_SECONDS, max(0.05, left + 0.05))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.expire_due()
                self.announce_due()
                wait = self._next_wait()
            except Exception:
                log.exception("broadcast expiry check failed")
                wait = RECHECK_SECONDS
            finally:
                self.db.release()
            self._wake.wait(wait)
            self._wake.clear()

    def _changed(self) -> None:
        self._wake.set()           # the next expiry may have moved
        self._published = self.active()
        self.publish("broadcast.changed", {"active": self._published})


def _view(row: dict[str, Any]) -> dict[str, Any]:
    row["targets"] = json.loads(row["targets"])
    return row
