"""A county platform simulator that speaks the wire format of kiosk/relay/county-api.yaml.

It is part of the product (technicians use it to try a hall's relay before the
county link exists) and the relay's tests run against it over loopback. It

* verifies every request's HMAC signature and freshness (:mod:`hall.relay.wire`),
* validates every message (envelope and body schema, the rating code rules) and
  rejects invalid ones with a reason, as the county does,
* stores what it accepts (SQLite, in memory or in a file) and answers a message
  id it already holds as ``duplicate``, counting any that came back with a
  different body as a conflict,
* serves a versioned catalog (the demo catalog of ``hall.records`` when it is
  installed, a tiny built-in one otherwise), the rating-reason list and
  appointments booked "on the county platform",
* injects faults on command: refused connections, HTTP errors, slow answers,
  partitions (connections that hang), lost answers (stored, then the connection
  drops), answers held until released, and rejections of chosen messages.

Faults are set from Python (``sim.fault(...)``) or over HTTP on the simulator's
own admin routes under ``/_sim/`` (loopback only, not part of the county API).
This module holds the simulator's state and fault injection; `hall.relay.county_sim_http`
speaks HTTP for it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from hall.relay import wire
from hall.relay.county_sim_http import Handler, Server

log = logging.getLogger(__name__)

FAULTS = ("refuse", "http_error", "slow", "partition", "drop_response", "hold", "reject", "omit")

BUILTIN_CATALOG: dict[str, Any] = {
    "format": "hall-catalog/1",
    "version": "builtin-1",
    "published_at": "2026-11-01T00:00:00+08:00",
    "items": [
        {"impl_code": "11430224MB1234567X4000111001000", "name": "最低生活保障申请", "category": "B",
         "item_type": "05", "case_kind": 2, "promised_limit": {"value": 20, "unit": "工作日"}},
        {"impl_code": "11430224MB1234567X4000111002000", "name": "临时救助申请", "category": "B",
         "item_type": "05", "case_kind": 2, "promised_limit": {"value": 5, "unit": "工作日"}},
        {"impl_code": "11430224MB1234567X4000222001000", "name": "城乡居民医保参保登记", "category": "C",
         "item_type": "20", "case_kind": 1, "promised_limit": {"value": 0, "unit": "工作日"}},
    ],
}

BUILTIN_REASONS: dict[str, Any] = {
    "version": "builtin-1",
    "rating_reasons": [
        {"code": "R01", "text": "办事指南不准确、不清楚"},
        {"code": "R04", "text": "等候时间过长"},
        {"code": "R06", "text": "工作人员服务态度差"},
        {"code": "R99", "text": "其他"},
    ],
    "complaint_reasons": [
        {"code": "C01", "text": "服务态度"},
        {"code": "C99", "text": "其他"},
    ],
}


def _load_json_resource(name: str) -> Any | None:
    try:
        res = resources.files("hall.records").joinpath("data", name)
        if not res.is_file():
            return None
        return json.loads(res.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, OSError, ValueError) as exc:
        log.warning("cannot load %s from hall.records: %s", name, exc)
        return None


def default_catalog() -> dict[str, Any]:
    """The demo catalog shipped with hall.records (data/catalog.json), or a tiny built-in one."""
    doc = _load_json_resource("catalog.json")
    if isinstance(doc, dict) and not wire.validate(doc, "Catalog") and doc["items"]:
        return doc
    return copy.deepcopy(BUILTIN_CATALOG)


def default_reasons() -> dict[str, Any]:
    """The reason lists shipped with hall.records (data/reasons.json), or a tiny built-in one."""
    doc = _load_json_resource("reasons.json")
    if isinstance(doc, dict) and not wire.validate(doc, "Reasons"):
        return doc
    return copy.deepcopy(BUILTIN_REASONS)


@dataclass
class Fault:
    kind: str
    count: int | None = None  # None: until cleared
    status: int = 500
    seconds: float = 0.0
    code: str = "invalid_message"
    reason: str = "模拟拒收"
    match: Callable[[dict[str, Any]], bool] | None = None
    kinds: frozenset[str] = frozenset()
    message_ids: frozenset[str] = frozenset()

    def applies_to(self, msg: dict[str, Any]) -> bool:
        if self.message_ids and msg.get("message_id") not in self.message_ids:
            return False
        if self.kinds and msg.get("kind") not in self.kinds:
            return False
        return self.match(msg) if self.match else True


# dup-ok: counters of the simulator, shaped like sender.BatchOutcome and idcard ParserStats but counting other things
@dataclass
class Stats:
    requests: int = 0
    batches: int = 0
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    auth_failures: int = 0
    order_violations: int = 0
    faults_injected: int = 0
    last_auth_error: str = ""
    auth_errors: dict[str, int] = field(default_factory=dict)


class CountySimulator:
    """The simulated county platform: ``with CountySimulator(secrets={...}) as sim: sim.url``."""

    kind = "county"

    def __init__(self, *, secrets: dict[str, bytes], host: str = "127.0.0.1", port: int = 0,
                 store_path: str | Path = ":memory:", catalog: dict[str, Any] | None = None,
                 reasons: dict[str, Any] | None = None, freshness: int = wire.FRESHNESS_SECONDS,
                 now: Callable[[], float] = time.time, tls: tuple[str, str] | None = None) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the county simulator listens on loopback only")
        self.secrets = dict(secrets)
        self.host = host
        self.port = port
        self.freshness = freshness
        self.now = now
        self.catalog = catalog or default_catalog()
        self.holidays: dict[int, dict[str, Any]] = {}  # none published until set_holidays()
        self.reasons = reasons or default_reasons()
        self.stats = Stats()
        self._tls = tls
        self._lock = threading.RLock()
        self._faults: dict[str, Fault] = {}
        self._release = threading.Event()
        self._lifted = threading.Event()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._conns: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._db = sqlite3.connect(str(store_path), check_same_thread=False, isolation_level=None)
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS messages (
                seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, hall_id TEXT NOT NULL,
                kind TEXT NOT NULL, order_key TEXT NOT NULL, created_at TEXT NOT NULL,
                body TEXT NOT NULL, county_ref TEXT, received_at REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS messages_key ON messages (order_key, seq);
            CREATE TABLE IF NOT EXISTS rejections (
                id INTEGER PRIMARY KEY, message_id TEXT, code TEXT, reason TEXT, at REAL);
            CREATE TABLE IF NOT EXISTS appointments (
                seq INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
            """
        )
        if store_path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")

    # ------------------------------------------------------------------ life cycle
    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> CountySimulator:
        self._stopping.clear()
        self._listen()
        return self

    def _listen(self) -> None:
        sim = self

        class SimHandler(Handler):
            simulator = sim

        server = Server((self.host, self.port), SimHandler)
        if self._tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(*self._tls)
            server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.25},
                                        name=f"county-sim:{self.port}", daemon=True)
        self._thread.start()

    def _close_listener(self) -> None:
        """Stop listening and cut every open connection (keep-alive ones too)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stopping.set()
        self._release.set()
        self._lifted.set()
        self._close_listener()
        with self._lock:
            self._db.close()

    def __enter__(self) -> CountySimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults
    def fault(self, kind: str, *, count: int | None = None, status: int = 500, seconds: float = 0.0,
              code: str = "invalid_message", reason: str = "模拟拒收",
              match: Callable[[dict[str, Any]], bool] | None = None,
              kinds: set[str] | frozenset[str] = frozenset(),
              message_ids: set[str] | frozenset[str] = frozenset()) -> None:
        """Inject a fault until cleared (or for `count` requests / messages).

        refuse: the port stops listening (connections are refused);
        http_error: answer with `status` (500 by default); slow: wait `seconds`
        before answering; partition: accept, then never answer until cleared;
        drop_response: store the batch, then close the connection unanswered;
        hold: store the batch, then wait for :meth:`release` before answering;
        reject: reject matching messages (`kinds`, `message_ids`, `match`) with `code`/`reason`;
        omit: leave matching messages out of the answer (neither stored nor answered).
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            self._faults[kind] = Fault(kind, count, status, seconds, code, reason, match,
                                       frozenset(kinds), frozenset(message_ids))
            if kind == "partition":
                self._lifted.clear()
            if kind == "hold":
                self._release.clear()
        if kind == "refuse" and self._server is not None:
            self._close_listener()

    #: the technician page's words for the faults (POST /api/devices/emulators/county/fault)
    FAULT_NAMES: ClassVar[dict[str, str]] = {
        "refuse": "拒绝连接", "http_error": "返回 500", "slow": "应答缓慢（5 秒）", "partition": "网络中断",
        "drop_response": "收下不回应", "hold": "收下暂不回应", "reject": "拒收全部数据", "omit": "漏回部分数据",
    }

    def fault_command(self, command: str) -> str:
        """A technician's text command: a fault's name turns it on, `clear [name]` (or `none`) lifts it.

        Without a way to lift them, a fault switched on from the technician page
        (`reject`) stayed on until the service restarted.
        """
        words = command.strip().lower().split()
        if not words:
            raise ValueError("用法：" + " | ".join(FAULTS) + " | clear [故障名]")
        head, arg = words[0], (words[1] if len(words) > 1 else None)
        if head in ("clear", "none", "ok"):
            if arg is not None and arg not in FAULTS:
                raise ValueError(f"未知故障 {arg}；可用：{', '.join(FAULTS)}")
            self.clear(arg)
            return f"已解除：{self.FAULT_NAMES[arg]}" if arg else "已解除全部故障，县级平台模拟器恢复正常"
        if head not in FAULTS:
            raise ValueError(f"未知故障 {head}；可用：{', '.join(FAULTS)}，解除用 clear")
        self.fault(head, seconds=5.0 if head == "slow" else 0.0)
        return f"已注入：{self.FAULT_NAMES[head]}（用 clear 解除）"

    def view(self) -> dict[str, Any]:
        """What the technician page shows of the simulator: its counters and the faults that are on."""
        return self.snapshot()

    def clear(self, kind: str | None = None) -> None:
        """Lift one fault, or all of them."""
        with self._lock:
            kinds = [kind] if kind else list(self._faults)
            for k in kinds:
                self._faults.pop(k, None)
            if "partition" in kinds:
                self._lifted.set()
            if "hold" in kinds:
                self._release.set()
        if ("refuse" in kinds or kind is None) and self._server is None and not self._stopping.is_set():
            self._listen()

    def release(self) -> None:
        """Let answers held by the `hold` fault go out, and lift the fault."""
        with self._lock:
            self._faults.pop("hold", None)
        self._release.set()

    def active_faults(self) -> list[str]:
        with self._lock:
            return sorted(self._faults)

    def _take(self, kind: str) -> Fault | None:
        """The active fault of `kind`, consuming one use of a counted fault."""
        with self._lock:
            f = self._faults.get(kind)
            if f is None:
                return None
            if f.count is not None:
                f.count -= 1
                if f.count <= 0:
                    del self._faults[kind]
            self.stats.faults_injected += 1
            return f

    # ------------------------------------------------------------------ data
    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Accepted messages in arrival order."""
        sql = "SELECT seq, message_id, hall_id, kind, order_key, created_at, body, county_ref FROM messages"
        args: tuple[Any, ...] = ()
        if kind:
            sql += " WHERE kind = ?"
            args = (kind,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [{"seq": r[0], "message_id": r[1], "hall_id": r[2], "kind": r[3], "order_key": r[4],
                 "created_at": r[5], "body": json.loads(r[6]), "county_ref": r[7]} for r in rows]

    def count(self) -> int:
        with self._lock:
            n: int = self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            return n

    def rejections(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT message_id, code, reason FROM rejections ORDER BY id").fetchall()
        return [{"message_id": r[0], "code": r[1], "reason": r[2]} for r in rows]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            s = dict(self.stats.__dict__)
            s["auth_errors"] = dict(self.stats.auth_errors)
        s["stored"] = self.count()
        s["faults"] = self.active_faults()
        s["catalog_version"] = self.catalog["version"]
        s["reasons_version"] = self.reasons["version"]
        return s

    def set_catalog(self, doc: dict[str, Any]) -> None:
        with self._lock:
            self.catalog = doc

    def set_holidays(self, year: int, doc: dict[str, Any]) -> None:
        """Publish one year's official holiday and adjusted-workday list."""
        with self._lock:
            self.holidays[year] = {"year": year, **doc}

    def set_reasons(self, doc: dict[str, Any]) -> None:
        with self._lock:
            self.reasons = doc

    def add_appointment(self, appt: dict[str, Any]) -> None:
        """Book (or change, by code) an appointment "on the county platform"."""
        errors = wire.validate(appt, "CountyAppointment")
        if errors:
            raise ValueError("; ".join(errors))
        with self._lock:
            self._db.execute("DELETE FROM appointments WHERE code = ?", (appt["code"],))
            self._db.execute("INSERT INTO appointments (code, doc) VALUES (?, ?)",
                             (appt["code"], json.dumps(appt, ensure_ascii=False)))

    def appointments_since(self, since: int, limit: int) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT seq, doc FROM appointments WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (since, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = rows[-1][0] if rows else since
        return {"cursor": str(cursor), "more": more, "appointments": [json.loads(r[1]) for r in rows]}

    # ------------------------------------------------------------------ batches
    def process_batch(self, hall_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        seen_keys: set[str] = set()
        with self._lock:
            self.stats.batches += 1
            self._db.execute("BEGIN")
            try:
                for msg in doc["messages"]:
                    self.stats.messages += 1
                    omit = self._faults.get("omit")
                    if omit is not None and isinstance(msg, dict) and omit.applies_to(msg):
                        self._consume(omit)
                        continue  # neither processed nor answered
                    results.append(self._one(hall_id, msg, self._faults.get("reject"), seen_keys))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return {"batch_id": doc["batch_id"], "results": results}

    def _one(self, hall_id: str, msg: Any, reject_fault: Fault | None, seen_keys: set[str]) -> dict[str, Any]:
        mid = msg.get("message_id") if isinstance(msg, dict) else None
        mid = mid if isinstance(mid, str) else ""
        errors = wire.validate(msg, "Message", "message")
        if not errors:
            if msg["order_key"] in seen_keys:
                self.stats.order_violations += 1
            seen_keys.add(msg["order_key"])
            errors = wire.check_body(msg["kind"], msg["body"])
        if errors:
            return self._reject(mid, "invalid_message", "; ".join(errors[:5]))
        if reject_fault is not None and reject_fault.applies_to(msg):
            self._consume(reject_fault)
            return self._reject(mid, reject_fault.code, reject_fault.reason)
        body = json.dumps(msg["body"], ensure_ascii=False, sort_keys=True)
        row = self._db.execute("SELECT body, county_ref FROM messages WHERE message_id = ?", (mid,)).fetchone()
        if row is not None:
            self.stats.duplicates += 1
            if row[0] != body:
                self.stats.conflicts += 1
            return {"message_id": mid, "status": wire.DUPLICATE, "county_ref": row[1]}
        cur = self._db.execute(
            "INSERT INTO messages (message_id, hall_id, kind, order_key, created_at, body, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (mid, hall_id, msg["kind"], msg["order_key"], msg["created_at"], body, time.time()),
        )
        ref = None
        if msg["kind"] == "case" and not msg["body"].get("official_no"):
            # The county mints the official 办件编号; the hall never invents one.
            ref = f"{hall_id}-{cur.lastrowid:08d}"
            self._db.execute("UPDATE messages SET county_ref = ? WHERE seq = ?", (ref, cur.lastrowid))
        self.stats.accepted += 1
        return {"message_id": mid, "status": wire.ACCEPTED, "county_ref": ref}

    def _consume(self, fault: Fault) -> None:
        """One use of a per-message fault (caller holds the lock)."""
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.pop(fault.kind, None)
        self.stats.faults_injected += 1

    def _reject(self, mid: str, code: str, reason: str) -> dict[str, Any]:
        self.stats.rejected += 1
        self._db.execute("INSERT INTO rejections (message_id, code, reason, at) VALUES (?, ?, ?, ?)",
                         (mid, code, reason, time.time()))
        return {"message_id": mid, "status": wire.REJECTED, "code": code, "reason": reason}

    def _auth_failed(self, code: str) -> None:
        with self._lock:
            self.stats.auth_failures += 1
            self.stats.last_auth_error = code
            self.stats.auth_errors[code] = self.stats.auth_errors.get(code, 0) + 1
