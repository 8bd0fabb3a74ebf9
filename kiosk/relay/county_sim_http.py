"""The county simulator's HTTP side: the server, and the handler that routes, signs, and injects faults.

The simulator's state (stored messages, the catalog and reasons it serves, the faults it was
told to inject) lives in `hall.relay.county_sim`; this module only speaks HTTP for it: the
county routes of `wire.ROUTES` and the loopback-only admin routes under ``/_sim/``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from hall.relay import wire

if TYPE_CHECKING:
    from hall.relay.county_sim import CountySimulator

log = logging.getLogger(__name__)

_ENVELOPE: dict[str, Any] = copy.deepcopy(wire.SCHEMAS["Batch"])
_ENVELOPE["properties"]["messages"]["items"] = {}


class _Drop(Exception):
    """Close the connection without an answer."""


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("county simulator: connection from %s ended with an error", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    simulator: CountySimulator
    protocol_version = "HTTP/1.1"  # keep-alive: the relay reuses one connection
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server_version = "CountySim/1"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.simulator._lock:
            self.simulator._conns.add(self.connection)

    def finish(self) -> None:
        with self.simulator._lock:
            self.simulator._conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # --------------------------------------------------------------- plumbing
    def _send(self, status: int, doc: Any | None = None, headers: dict[str, str] | None = None) -> None:
        raw = b"" if doc is None else wire.encode_json(doc)
        self.send_response(status)
        if doc is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if raw:
            self.wfile.write(raw)

    def _error(self, status: int, code: str, message: str, **extra: Any) -> None:
        self._send(status, {"error": {"code": code, "message": message, **extra}})

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._error(411, "length_required", "Content-Length required")
            raise _Drop
        n = int(length)
        if n > wire.MAX_BODY_BYTES:
            self._error(413, "too_large", f"body over {wire.MAX_BODY_BYTES} bytes")
            raise _Drop
        return self.rfile.read(n)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _faults_before(self) -> bool:
        """Apply connection-level faults; False when the request must not be answered."""
        sim = self.simulator
        if sim._take("partition") is not None:
            # Accept the connection but say nothing until the partition lifts.
            while not sim._lifted.wait(0.05):
                if sim._stopping.is_set():
                    break
            return False
        slow = sim._take("slow")
        if slow is not None:
            time.sleep(slow.seconds)
        err = sim._take("http_error")
        if err is not None:
            self._error(err.status, "simulated", f"模拟故障 HTTP {err.status}")
            return False
        return True

    def _dispatch(self, method: str) -> None:
        sim = self.simulator
        with sim._lock:
            sim.stats.requests += 1
        url = urlsplit(self.path)
        try:
            if url.path.startswith("/_sim/"):
                self._admin(method, url.path, parse_qs(url.query))
                return
            if (method, url.path) not in wire.ROUTES:
                if any(p == url.path for _, p in wire.ROUTES):
                    self._error(405, "method_not_allowed", f"{method} not allowed on {url.path}")
                else:
                    self._error(404, "not_found", f"no route {url.path}")
                return
            body = self._body() if method == "POST" else b""
            if not self._faults_before():
                self._drop()
                return
            verdict = wire.verify(self.headers, sim.secrets, method, self.path, body, sim.now(), sim.freshness)
            if not verdict.ok:
                sim._auth_failed(verdict.code)
                self._error(401, verdict.code, verdict.message, server_time=int(sim.now()))
                return
            hall_id = self.headers.get(wire.H_HALL, "")
            if url.path == wire.BATCH_PATH:
                self._batch(hall_id, body)
            elif url.path == wire.CATALOG_PATH:
                self._versioned(sim.catalog, parse_qs(url.query))
            elif url.path == wire.REASONS_PATH:
                self._versioned(sim.reasons, parse_qs(url.query))
            elif url.path == wire.APPOINTMENTS_PATH:
                self._appointments(parse_qs(url.query))
            elif url.path == wire.HOLIDAYS_PATH:
                self._holidays(parse_qs(url.query))
        except _Drop:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --------------------------------------------------------------- county routes
    def _batch(self, hall_id: str, raw: bytes) -> None:
        sim = self.simulator
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._error(400, "bad_json", "body is not JSON")
            return
        # The envelope only here; messages are judged one by one.
        errors = wire.validate(doc, _ENVELOPE, "batch")
        if errors:
            self._error(400, "bad_batch", "; ".join(errors[:5]))
            return
        if doc["hall_id"] != hall_id:
            self._error(400, "hall_mismatch", "batch hall_id differs from X-Hall-Id")
            return
        answer = sim.process_batch(hall_id, doc)
        if sim._take("drop_response") is not None:
            self._drop()
            return
        if sim._take("hold") is not None:
            while not sim._release.wait(0.05):
                if sim._stopping.is_set():
                    break
        self._send(200, answer)

    def _versioned(self, doc: dict[str, Any], query: dict[str, list[str]]) -> None:
        etag = f'"{doc["version"]}"'
        known = self.headers.get("If-None-Match", "")
        if known == etag or query.get("version", [""])[0] == doc["version"]:
            self._send(304, None, {"ETag": etag})
            return
        self._send(200, doc, {"ETag": etag, "Cache-Control": "no-cache"})

    def _appointments(self, query: dict[str, list[str]]) -> None:
        try:
            since = int(query.get("since", ["0"])[0] or 0)
            limit = min(max(int(query.get("limit", ["500"])[0]), 1), 1000)
        except ValueError:
            self._error(400, "bad_query", "since and limit must be integers")
            return
        self._send(200, self.simulator.appointments_since(since, limit))

    def _holidays(self, query: dict[str, list[str]]) -> None:
        year = query.get("year", [""])[0]
        if not year.isdigit():
            self._error(400, "bad_query", "year=YYYY required")
            return
        doc = self.simulator.holidays.get(int(year))
        if doc is None:
            self._error(404, "not_published", f"{year} 年节假日安排尚未发布")
            return
        self._send(200, doc)

    # --------------------------------------------------------------- admin routes
    def _admin(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        sim = self.simulator
        if path == "/_sim/stats" and method == "GET":
            self._send(200, sim.snapshot())
        elif path == "/_sim/messages" and method == "GET":
            self._send(200, {"messages": sim.messages(query.get("kind", [None])[0])})
        elif path == "/_sim/faults" and method == "POST":
            try:
                spec = json.loads(self._body() or b"{}")
                kind = spec.pop("fault")
                if "kinds" in spec:
                    spec["kinds"] = frozenset(spec["kinds"])
                if "message_ids" in spec:
                    spec["message_ids"] = frozenset(spec["message_ids"])
                self._send(200, {"ok": True})
                if kind == "refuse":
                    seconds = float(spec.pop("seconds", 0) or 0)
                    # Answer first, then stop listening (for `seconds`, when given).
                    threading.Thread(target=_refuse_for, args=(sim, seconds), daemon=True).start()
                else:
                    sim.fault(kind, **spec)
            except (ValueError, KeyError, TypeError) as exc:
                self._error(400, "bad_fault", str(exc))
        elif path == "/_sim/faults" and method == "DELETE":
            sim.clear(query.get("fault", [None])[0])
            self._send(200, {"ok": True, "faults": sim.active_faults()})
        elif path == "/_sim/release" and method == "POST":
            self._body()
            sim.release()
            self._send(200, {"ok": True})
        elif path == "/_sim/appointments" and method == "POST":
            try:
                sim.add_appointment(json.loads(self._body()))
                self._send(201, {"ok": True})
            except (ValueError, TypeError) as exc:
                self._error(400, "bad_appointment", str(exc))
        else:
            self._error(404, "not_found", f"no admin route {method} {path}")


def _refuse_for(sim: CountySimulator, seconds: float) -> None:
    time.sleep(0.1)
    sim.fault("refuse")
    if seconds > 0:
        time.sleep(seconds)
        sim.clear("refuse")
