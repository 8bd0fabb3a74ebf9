"""The relay sender: drains the outbox to the county, signed, in order, nothing lost.

One background thread (:class:`Relay`) repeats:

1. pick the next batch: for each ``order_key``, only its oldest unacknowledged
   message, and none at all while an earlier message of that key sits in the
   dead-letter list (so message N+1 of a case is never sent before N was
   acknowledged);
2. POST it, signed (:mod:`hall.relay.wire`), over HTTPS with certificate
   verification on (plain http only to a loopback simulator);
3. in ONE transaction, mark what the county answered: ``accepted`` and
   ``duplicate`` → acknowledged (the row stays, with ``acked_at``),
   ``rejected`` → dead letter with the county's reason; anything unanswered
   stays pending.

A crash anywhere in between leaves rows pending, and they are sent again after
the restart; the county drops them as duplicates by ``message_id``. So the
county receives each message exactly once and the hall forgets none.

Failures (refused, timed out, HTTP 5xx, 429…) back off exponentially with
jitter up to a cap, honouring ``Retry-After``. A 401 ``stale_timestamp``
carries the county's time: the hall corrects its signing clock by the
difference (as cloud SDKs do) and says so in the log and status.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import os
import random
import sqlite3
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from hall.config.schema import County
from hall.relay import wire
from hall.relay.outbox import now_iso
from hall.security import redact_text
from hall.store.db import Database

log = logging.getLogger(__name__)

USER_AGENT = "hall-kiosk-relay/1"
HALL_ACTIVE_SECONDS = 3.0  # a hall event this recent means people are being served: drain gently
MIN_SECRET_BYTES = 16


class RelayError(Exception):
    """Base of the relay's errors; the message is for a technician (Chinese, with detail)."""


class RelayConfigError(RelayError):
    """The county link is configured in a way the relay refuses to use."""


class TransportError(RelayError):
    """The county could not be reached or did not answer."""


class CountyError(RelayError):
    """The county answered with an HTTP error."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"县级平台返回 HTTP {status} {code}：{message}")
        self.status = status
        self.code = code
        self.retry_after = retry_after


# --------------------------------------------------------------------------- configuration

def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, base path) of a county endpoint; refuses what must not be used.

    The county is reached over HTTPS. Plain ``http://`` is accepted only for a
    loopback host (127.0.0.0/8, ::1, localhost): the county simulator and tests.
    """
    u = urlsplit(url)
    if u.scheme not in ("https", "http") or not u.hostname:
        raise RelayConfigError(f"county.endpoint {url!r} 无效：应为 https://主机[:端口][/路径]")
    if u.scheme == "http" and not _is_loopback(u.hostname):
        raise RelayConfigError(
            f"county.endpoint {url!r}：明文 http 只允许连接本机模拟器（127.0.0.1），县级平台必须使用 https "
            "/ plain http is allowed for a loopback simulator only"
        )
    if u.query or u.fragment:
        raise RelayConfigError(f"county.endpoint {url!r} 不应包含查询参数")
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname, port, u.path.rstrip("/")


def load_secret(county: County, environ: dict[str, str] | None = None) -> bytes:
    """The hall's signing secret: from the file named in the config, else the environment.

    The secret itself never sits in the config file (DESIGN.md §8).
    """
    env = os.environ if environ is None else environ
    if county.secret_file:
        path = Path(county.secret_file)
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise RelayConfigError(f"无法读取县级平台密钥文件 {path}：{exc.strerror or exc}") from exc
        where = f"密钥文件 {path}"
    else:
        secret = env.get(county.secret_env, "").strip().encode("utf-8")
        where = f"环境变量 {county.secret_env}"
        if not secret:
            raise RelayConfigError(
                f"未找到县级平台密钥：请设置{where}，或在配置 county.secret_file 中指定密钥文件"
            )
    if len(secret) < MIN_SECRET_BYTES:
        raise RelayConfigError(f"{where} 中的密钥过短（至少 {MIN_SECRET_BYTES} 字节）")
    return secret


def make_ssl_context(ca_bundle: str = "") -> ssl.SSLContext:
    """A client TLS context that verifies the county's certificate (and host name).

    `ca_bundle` names a PEM file of the CA(s) to trust, for extranets with a
    private CA; without it the system's trust store is used. Verification is
    never switched off.
    """
    if ca_bundle and not Path(ca_bundle).is_file():
        raise RelayConfigError(f"county.ca_bundle 指定的证书文件不存在：{ca_bundle}")
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_bundle or None)
    except ssl.SSLError as exc:
        raise RelayConfigError(f"county.ca_bundle 无法加载（{ca_bundle}）：{exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    return ctx


# --------------------------------------------------------------------------- HTTP client

@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def error(self) -> tuple[str, str, int | None]:
        """(code, message, server_time) of a wire-format error answer."""
        try:
            err = (self.json() or {}).get("error") or {}
            return str(err.get("code", "")), str(err.get("message", "")), err.get("server_time")
        except (ValueError, AttributeError):
            return "", self.body[:200].decode("utf-8", "replace"), None


class CountyClient:
    """Signed requests to the county over one kept-alive connection (one request at a time)."""

    def __init__(self, endpoint: str, hall_id: str, secret: bytes, *, ca_bundle: str = "",
                 timeout: float = 10.0, signature_method: str = "HMAC-SHA256",
                 now: Callable[[], float] = time.time) -> None:
        if not hall_id:
            raise RelayConfigError("county.hall_id 未配置")
        if signature_method not in wire.SIGNATURE_METHODS:
            raise RelayConfigError(f"不支持的签名方式 {signature_method}")
        self.endpoint = endpoint
        self.scheme, self.host, self.port, self.base_path = check_endpoint(endpoint)
        self.hall_id = hall_id
        self._secret = secret
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.signature_method = signature_method
        self.now = now
        self._ssl = make_ssl_context(ca_bundle) if self.scheme == "https" else None
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self.skew = 0.0  # county clock minus ours, learnt from stale_timestamp answers
        self.on_date: Callable[[str | None], Any] | None = None  # each answer's Date header (hall clock check)

    def clone(self) -> CountyClient:
        c = CountyClient(self.endpoint, self.hall_id, self._secret, ca_bundle=self.ca_bundle,
                         timeout=self.timeout, signature_method=self.signature_method, now=self.now)
        c.skew = self.skew
        c.on_date = self.on_date
        return c

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self._conn is not None:
            return self._conn, True
        if self._ssl is not None:
            self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._ssl)
        else:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn, False

    def request(self, method: str, path: str, body: bytes = b"", *, query: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """Send one signed request; raises TransportError when there is no answer."""
        target = self.base_path + path + (("?" + urlencode(query)) if query else "")
        with self._lock:
            for _ in range(2):
                signed = wire.signed_headers(self.hall_id, self._secret, method, target, body,
                                             self.now() + self.skew, self.signature_method)
                all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {}),
                               **signed}
                if method == "POST":
                    all_headers["Content-Type"] = "application/json; charset=utf-8"
                resp = self._roundtrip(method, target, body, all_headers)
                if resp.status == 401:
                    code, _, server_time = resp.error()
                    if code == "stale_timestamp" and isinstance(server_time, int):
                        skew = server_time - self.now()
                        if abs(skew - self.skew) > 1:
                            log.warning("hall clock differs from the county's by %+.0f s; signing with the "
                                        "county's time (check the hall PC's clock)", skew)
                            self.skew = skew
                            continue
                return resp
        return resp

    def _roundtrip(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Response:
        for _ in range(2):
            conn, reused = self._connection()
            try:
                conn.request(method, target, body=body if method == "POST" else None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
                if r.will_close:
                    self._drop()
                if self.on_date is not None:
                    self.on_date(resp.headers.get("date"))
                return resp
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if reused:
                    # A kept-alive connection the county closed while idle: try once on a fresh
                    # one. Safe for a batch too: the county drops duplicates by message id.
                    continue
                raise TransportError(f"县级平台断开了连接（{type(exc).__name__}）") from exc
            except ssl.SSLCertVerificationError as exc:
                self._drop()
                raise TransportError(
                    f"县级平台证书校验失败：{exc.verify_message or exc}（检查 county.ca_bundle 是否为县级 CA 证书）"
                ) from exc
            except TimeoutError as exc:
                self._drop()
                raise TransportError(f"县级平台 {self.timeout:g} 秒内无应答（超时）") from exc
            except ConnectionRefusedError as exc:
                self._drop()
                raise TransportError(f"无法连接县级平台 {self.host}:{self.port}（连接被拒绝）") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise TransportError(f"与县级平台通信失败：{type(exc).__name__}: {exc}") from exc
        raise TransportError("县级平台连续两次断开连接")


# --------------------------------------------------------------------------- relay

@dataclass(frozen=True)
class Fetched:
    """A document fetched from the county: its version, ETag and content."""

    version: str
    etag: str | None
    doc: dict[str, Any]


@dataclass
class BatchOutcome:
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unanswered: int = 0
    local_dead: int = 0

    @property
    def acked(self) -> int:
        return self.accepted + self.duplicates


@dataclass
class _Drain:
    started_at: str
    started_mono: float
    start_backlog: int
    sent: int = 0
    finished_at: str | None = None
    seconds: float = 0.0

    def record(self) -> dict[str, Any]:
        """What is kept in relay_state (the CLI reads it while the service drains)."""
        return {"started_at": self.started_at, "finished_at": self.finished_at, "start_backlog": self.start_backlog,
                "sent": self.sent, "seconds": round(self.seconds, 3)}

    def view(self, backlog: int) -> dict[str, Any]:
        return drain_view(self.record(), backlog)


def drain_view(rec: dict[str, Any], backlog: int) -> dict[str, Any]:
    """Drain progress for a screen: sent, remaining, percent, rate, ETA."""
    sent = int(rec.get("sent") or 0)
    seconds = float(rec.get("seconds") or 0.0)
    finished = rec.get("finished_at")
    rate = sent / seconds if seconds > 0 else 0.0
    total = sent + backlog
    return {
        "started_at": rec.get("started_at"),
        "finished_at": finished,
        "start_backlog": rec.get("start_backlog"),
        "sent": sent,
        "remaining": 0 if finished else backlog,
        "percent": 100.0 if finished or total == 0 else round(100.0 * sent / total, 1),
        "rate_per_second": round(rate, 1),
        "eta_seconds": None if finished or rate <= 0 else round(backlog / rate, 1),
    }


@dataclass
class _State:
    state: str = "stopped"
    consecutive_failures: int = 0
    next_attempt_mono: float = 0.0
    last_success_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    drain: _Drain | None = None
    last_drain: _Drain | None = None
    batches: int = 0
    sync: dict[str, dict[str, Any]] = field(default_factory=dict)


_HEADS_SQL = """
SELECT o.id, o.message_id, o.kind, o.order_key, o.payload, o.created_at
  FROM outbox o
 WHERE o.state = 'pending'
   AND o.id = (SELECT MIN(p.id) FROM outbox p WHERE p.order_key = o.order_key AND p.state IN ('pending', 'dead'))
 ORDER BY o.id
 LIMIT ?
"""


class Relay:
    """The outbox sender and the county fetches, around one :class:`CountyClient`."""

    def __init__(self, db: Database, county: County, *, client: CountyClient | None = None,
                 config_error: str | None = None, publish: Callable[[str, dict[str, Any]], Any] | None = None,
                 backoff_base: float = 1.0, backoff_cap: float = 300.0, poll_seconds: float = 2.0,
                 keep_acked_days: int = 180, rng: random.Random | None = None, yield_factor: float = 3.0) -> None:
        self.db = db
        self.county = county
        self.client = client
        self.config_error = config_error if client is None else None
        if client is None and not self.config_error:
            self.config_error = "县级平台未配置（county.endpoint 为空）"
        self._fetch_client = client.clone() if client is not None else None
        self.publish = publish
        self.batch_size = county.batch_size
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.poll_seconds = poll_seconds
        self.keep_acked_days = keep_acked_days
        self.rng = rng or random.Random()
        self._st = _State(state="misconfigured" if self.config_error else "stopped")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0
        self._hall_active_mono = -1e9   # when the hall last did something (hub events)
        self.yield_factor = yield_factor
        from hall.relay.sync import CountySync

        self.sync = CountySync(self)
        if self.config_error:
            self._st.last_error = self.config_error
            self._st.last_error_at = now_iso()

    @classmethod
    def from_config(cls, db: Database, county: County, **kwargs: Any) -> Relay:
        """Build from the config; a configuration problem gives a relay that reports it and sends nothing."""
        try:
            check_endpoint(county.endpoint)
            secret = load_secret(county)
            client = CountyClient(county.endpoint, county.hall_id, secret, ca_bundle=county.ca_bundle,
                                  timeout=county.timeout_seconds)
        except RelayConfigError as exc:
            log.error("county relay not started: %s", exc)
            return cls(db, county, config_error=str(exc), **kwargs)
        return cls(db, county, client=client, **kwargs)

    def watch_dates(self, callback: Callable[[str | None], Any]) -> None:
        """Hand every county answer's `Date` header to `callback` (the hall's clock check)."""
        for client in (self.client, self._fetch_client):
            if client is not None:
                client.on_date = callback

    def sync_into(self, *, catalog: Callable[[dict[str, Any]], Any] | None = None,
                  reasons: Callable[[dict[str, Any]], Any] | None = None,
                  appointments: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
                  holidays: Callable[[int, dict[str, Any]], Any] | None = None,
                  holiday_years: Callable[[], list[int]] | None = None) -> None:
        """Fetch catalog, reason lists and appointments on a schedule and hand them to these sinks.

        The sinks (``CatalogStore.apply``, ``ReasonList.install``,
        ``Records.import_appointments``, ``WorkCalendar.set_year``) validate and
        install; see :mod:`hall.relay.sync`. `holiday_years` names the years to
        ask for (default: this year and next, as the list is published each November).
        """
        from hall.relay import sync

        if catalog is not None:
            self.sync.add("catalog", sync.CATALOG_EVERY, sync.catalog_job(self, self.db, catalog))
        if reasons is not None:
            self.sync.add("reasons", sync.REASONS_EVERY, sync.reasons_job(self, self.db, reasons))
        if appointments is not None:
            self.sync.add("appointments", sync.APPOINTMENTS_EVERY,
                          sync.appointments_job(self, self.db, appointments))
        if holidays is not None:
            self.sync.add("holidays", sync.HOLIDAYS_EVERY,
                          sync.holidays_job(self, self.db, holidays, holiday_years or sync.this_and_next_year))

    # ------------------------------------------------------------------ thread
    def start(self) -> None:
        if self.client is None or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._set_state("idle")
        self._thread = threading.Thread(target=self._run, name="county-relay", daemon=True)
        self._thread.start()
        self.sync.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the thread; a batch in flight finishes (or times out) first."""
        self._stop.set()
        self._wake.set()
        self.sync.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("county relay thread did not stop within %.0f s", timeout)
        self._thread = None
        if self.client is not None:
            self.client.close()
            if self._fetch_client is not None:
                self._fetch_client.close()
            self._set_state("stopped")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look at the outbox now (new records, a retried dead letter, the link is back)."""
        self._wake.set()

    def on_event(self, event: Any) -> None:
        """EventHub listener: any hall event may have written to the outbox. Only sets flags."""
        if not str(getattr(event, "kind", "")).startswith("relay."):
            self._hall_active_mono = time.monotonic()
            self._wake.set()

    def _yield_to_the_hall(self, cpu_seconds: float) -> None:
        """While the hall is busy, pause for `yield_factor` times the CPU time the last batch took.

        On a dual-core hall PC a flat-out drain (several thousand records a
        second) would otherwise compete with the request threads for the CPU
        and the interpreter lock and stretch ticket issue times. With the
        default factor 3 the drain takes at most about a quarter of one core
        while citizens are served (still 1,000+ records/s here); when nothing
        happened in the hall for a few seconds, it runs at full speed.
        """
        if time.monotonic() - self._hall_active_mono < HALL_ACTIVE_SECONDS and cpu_seconds > 0:
            self._stop.wait(min(cpu_seconds * self.yield_factor, 0.25))

    def _run(self) -> None:
        log.info("county relay started: %s as %s", self.county.endpoint, self.county.hall_id)
        while not self._stop.is_set():
            with self._lock:
                wait = self._st.next_attempt_mono - time.monotonic()
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                if self._stop.is_set():
                    break
                with self._lock:
                    # A wake during backoff (new record) must not cut the backoff short.
                    if self._st.next_attempt_mono - time.monotonic() > 0.01:
                        continue
            cpu0 = time.thread_time()
            try:
                outcome = self.send_batch()
            except RelayError as exc:
                self._failed(exc)
                continue
            except Exception as exc:  # never let the thread die
                log.exception("county relay: unexpected error")
                self._failed(RelayError(f"内部错误：{type(exc).__name__}: {exc}"))
                continue
            if outcome.unanswered:
                # The county answered the batch but not every message in it: send those again,
                # after a pause, rather than in a tight loop.
                self._failed(CountyError(200, "incomplete", f"{outcome.unanswered} 条报文没有收到答复，稍后重发"))
                continue
            if outcome.sent == 0 and outcome.local_dead == 0:
                self._maybe_prune()
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
            else:
                self._yield_to_the_hall(time.thread_time() - cpu0)
        log.info("county relay stopped")

    # ------------------------------------------------------------------ one batch
    def pending_heads(self, limit: int) -> list[sqlite3.Row]:
        return list(self.db.conn.execute(_HEADS_SQL, (limit,)))

    def send_batch(self) -> BatchOutcome:
        """Send the next batch and record the county's answers; raises RelayError on failure."""
        if self.client is None:
            raise RelayConfigError(self.config_error or "县级平台未配置")
        out = BatchOutcome()
        rows = self.pending_heads(self.batch_size)
        if not rows:
            self._idle()
            return out
        messages: list[dict[str, Any]] = []
        ids: dict[str, int] = {}
        local_dead: list[tuple[int, str]] = []
        for r in rows:
            try:
                body = wire.to_body(r["kind"], json.loads(r["payload"]))
            except (wire.WireError, ValueError, TypeError) as exc:
                local_dead.append((r["id"], str(exc)))
                continue
            ids[r["message_id"]] = r["id"]
            messages.append({"message_id": r["message_id"], "kind": r["kind"], "order_key": r["order_key"],
                             "created_at": r["created_at"], "body": body})
        if local_dead:
            self._dead_locally(local_dead)
            out.local_dead = len(local_dead)
        if not messages:
            return out
        self._begin_drain()
        self._set_state("sending")
        batch_id = uuid.uuid4().hex
        raw = wire.encode_batch(self.county.hall_id, batch_id, now_iso(), messages)
        resp = self.client.request("POST", wire.BATCH_PATH, raw, headers={wire.H_REQUEST_ID: batch_id})
        if resp.status == 413 and self.batch_size > 1:
            self.batch_size = max(1, self.batch_size // 2)
            log.warning("county refused a batch as too large; batch size now %d", self.batch_size)
            raise CountyError(413, "too_large", f"批次过大，已减为每批 {self.batch_size} 条")
        if resp.status != 200:
            code, message, _ = resp.error()
            retry_after = _retry_after(resp.headers.get("retry-after"))
            raise CountyError(resp.status, code or f"http_{resp.status}", message or "（无说明）", retry_after)
        try:
            results = wire.decode_results(resp.body)
        except ValueError as exc:
            raise CountyError(resp.status, "bad_answer", str(exc)) from exc
        out.sent = len(messages)
        self._record(ids, results, out)
        if self.db.conn.execute("SELECT 1 FROM outbox WHERE state = 'pending' LIMIT 1").fetchone() is None:
            self._idle()  # drained: say so now, not at the next poll
        return out

    def _record(self, ids: dict[str, int], results: list[wire.Result], out: BatchOutcome) -> None:
        at = now_iso()
        acked: list[tuple[str, str | None, str, str, int]] = []
        dead: list[tuple[str, str, str, str, int]] = []
        answered: set[int] = set()
        events: list[tuple[str, dict[str, Any]]] = []
        for res in results:
            row_id = ids.get(res.message_id)
            if row_id is None or row_id in answered:
                continue  # not ours in this batch: ignore rather than trust
            answered.add(row_id)
            if res.status in (wire.ACCEPTED, wire.DUPLICATE):
                acked.append((res.status, res.county_ref, at, at, row_id))
                if res.status == wire.ACCEPTED:
                    out.accepted += 1
                else:
                    out.duplicates += 1
                if res.county_ref:
                    events.append(("relay.acked", {"message_id": res.message_id, "county_ref": res.county_ref}))
            else:
                reason = redact_text(res.reason or "（县级平台未说明原因）")[:1000]
                dead.append((res.code or "rejected", reason, at, at, row_id))
                out.rejected += 1
                events.append(("relay.dead_letter", {"id": row_id, "message_id": res.message_id,
                                                     "code": res.code, "reason": reason}))
        unanswered = [i for i in ids.values() if i not in answered]
        out.unanswered = len(unanswered)
        with self._bookkeeping() as c:
            c.executemany(
                "UPDATE outbox SET state = 'acked', ack_status = ?, county_ref = ?, acked_at = ?,"
                " attempts = attempts + 1, last_attempt_at = ?, last_error = NULL"
                " WHERE id = ? AND state = 'pending'", acked)
            c.executemany(
                "UPDATE outbox SET state = 'dead', dead_code = ?, dead_reason = ?, dead_at = ?,"
                " attempts = attempts + 1, last_attempt_at = ? WHERE id = ? AND state = 'pending'", dead)
            if unanswered:
                c.executemany("UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?,"
                              " last_error = 'no answer for this message' WHERE id = ?",
                              [(at, i) for i in unanswered])
            with self._lock:
                self._st.last_success_at = at
                self._st.consecutive_failures = 0
                self._st.next_attempt_mono = 0.0
                self._st.batches += 1
                if self._st.drain is not None:
                    self._st.drain.sent += out.acked + out.rejected
                    self._st.drain.seconds = time.monotonic() - self._st.drain.started_mono
                drain = self._st.drain
            _put_state(c, "last_success_at", at)
            if drain is not None:
                _put_state(c, "drain", json.dumps(drain.record(), ensure_ascii=False))
        if out.rejected:
            log.warning("county rejected %d message(s); see the dead letters", out.rejected)
        if unanswered:
            log.warning("county answered %d of %d messages; the rest will be sent again",
                        len(answered), len(ids))
        for kind, data in events:
            self._publish(kind, data)

    def _dead_locally(self, rows: list[tuple[int, str]]) -> None:
        at = now_iso()
        with self._bookkeeping() as c:
            c.executemany("UPDATE outbox SET state = 'dead', dead_code = 'hall_invalid', dead_reason = ?,"
                          " dead_at = ? WHERE id = ? AND state = 'pending'",
                          [("本机无法生成报文：" + redact_text(reason)[:900], at, i) for i, reason in rows])
        for i, reason in rows:
            log.error("outbox message %d cannot be sent (%s); moved to the dead letters", i, redact_text(reason))
            self._publish("relay.dead_letter", {"id": i, "code": "hall_invalid", "reason": redact_text(reason)})

    # ------------------------------------------------------------------ state
    @contextmanager
    def _bookkeeping(self) -> Iterator[sqlite3.Connection]:
        """A write transaction for the relay's own marks (acks, dead letters, status), without fsync.

        Losing these marks in a power cut costs nothing but a resend, which the
        county drops as a duplicate; so they commit with ``synchronous=NORMAL``
        (WAL: consistent, durable at the next full commit or checkpoint) and do
        not hold the database's write lock for an fsync while a citizen waits
        for a ticket. Records themselves keep ``synchronous=FULL``.
        """
        c = self.db.conn
        before = c.execute("PRAGMA synchronous").fetchone()[0]
        c.execute("PRAGMA synchronous=NORMAL")
        try:
            with self.db.write() as w:
                yield w
        finally:
            c.execute(f"PRAGMA synchronous={int(before)}")

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        if self.publish is not None:
            try:
                self.publish(kind, data)
            except Exception:
                log.exception("publishing %s failed", kind)

    def _set_state(self, state: str) -> None:
        with self._lock:
            changed = self._st.state != state
            self._st.state = state
        if changed:
            self._publish("relay.state", {"state": state})

    def _begin_drain(self) -> None:
        with self._lock:
            if self._st.drain is not None:
                return
        backlog = self.backlog()
        with self._lock:
            self._st.drain = _Drain(now_iso(), time.monotonic(), backlog)

    def _idle(self) -> None:
        with self._lock:
            drain, self._st.drain = self._st.drain, None
            if drain is not None:
                drain.finished_at = now_iso()
                drain.seconds = time.monotonic() - drain.started_mono
                self._st.last_drain = drain
        if drain is not None:
            if drain.sent >= 1000:
                log.info("county relay: backlog drained (%d messages in %.0f s)", drain.sent, drain.seconds)
            with self._bookkeeping() as c:
                _put_state(c, "drain", json.dumps(drain.record(), ensure_ascii=False))
        self._set_state("idle")

    def _failed(self, exc: RelayError) -> None:
        with self._lock:
            self._st.consecutive_failures += 1
            n = self._st.consecutive_failures
            delay = min(self.backoff_cap, self.backoff_base * (2 ** min(n - 1, 30)))
            delay = delay / 2 + self.rng.uniform(0, delay / 2)  # "equal jitter"
            retry_after = getattr(exc, "retry_after", None)
            if retry_after:
                delay = max(delay, min(retry_after, self.backoff_cap))
            self._st.next_attempt_mono = time.monotonic() + delay
            first = self._st.last_error != str(exc) or n == 1
            self._st.last_error = str(exc)
            self._st.last_error_at = now_iso()
        if first:
            log.warning("county relay: %s (retry in %.1f s)", exc, delay)
        else:
            log.debug("county relay: %s (failure %d, retry in %.1f s)", exc, n, delay)
        self._set_state("backoff")
        try:
            with self._bookkeeping() as c:
                _put_state(c, "last_error", str(exc))
                _put_state(c, "last_error_at", self._st.last_error_at or "")
        except sqlite3.Error:
            log.exception("cannot record the relay error")

    def _maybe_prune(self) -> None:
        if self.keep_acked_days <= 0 or time.monotonic() - self._last_prune < 3600:
            return
        self._last_prune = time.monotonic()
        try:
            n = prune_acked(self.db, self.keep_acked_days)
            if n:
                log.info("county relay: pruned %d acknowledged outbox rows older than %d days",
                         n, self.keep_acked_days)
        except sqlite3.Error:
            log.exception("pruning the outbox failed")

    # ------------------------------------------------------------------ drain (CLI, tests, bench)
    def drain(self, timeout: float = 60.0) -> bool:
        """Send until nothing is pending (in the caller's thread); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                wait = self._st.next_attempt_mono - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, max(deadline - time.monotonic(), 0)))
                continue
            try:
                out = self.send_batch()
            except RelayError as exc:
                self._failed(exc)
                continue
            if out.unanswered:
                self._failed(CountyError(200, "incomplete", f"{out.unanswered} 条报文没有收到答复，稍后重发"))
                continue
            if out.sent == 0 and out.local_dead == 0:
                return True
        return False

    # ------------------------------------------------------------------ status
    def backlog(self) -> int:
        n: int = self.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        return n

    def status(self) -> dict[str, Any]:
        """Backlog, oldest pending age, last success, last error, dead letters, drain progress."""
        base = outbox_status(self.db)
        with self._lock:
            st = self._st
            backoff = max(0.0, st.next_attempt_mono - time.monotonic()) if st.state == "backoff" else 0.0
            drain = None
            if st.drain is not None:
                st.drain.seconds = time.monotonic() - st.drain.started_mono
                drain = st.drain.view(base["backlog"])
            last_drain = st.last_drain.view(0) if st.last_drain else None
            base.update({
                "configured": self.client is not None,
                "config_error": self.config_error,
                "endpoint": self.county.endpoint,
                "hall_id": self.county.hall_id,
                "running": self.running,
                "state": st.state,
                "consecutive_failures": st.consecutive_failures,
                "next_attempt_in_seconds": round(backoff, 1),
                "last_success_at": st.last_success_at or base["last_success_at"],
                "last_error": st.last_error or base["last_error"],
                "last_error_at": st.last_error_at or base["last_error_at"],
                "drain": drain,
                "last_drain": last_drain or base.get("last_drain"),
                "batch_size": self.batch_size,
                "clock_skew_seconds": round(self.client.skew, 1) if self.client else 0.0,
                "sync": {k: dict(v) for k, v in st.sync.items()},
                "dropped_fields": wire.dropped_fields(),
            })
        return base

    # ------------------------------------------------------------------ fetches (catalog, reasons, appointments)
    def _fetch(self, name: str, path: str, schema: str, *, etag: str | None = None,
               query: dict[str, str] | None = None) -> Fetched | None:
        if self._fetch_client is None:
            raise RelayConfigError(self.config_error or "县级平台未配置")
        if self.client is not None:
            self._fetch_client.skew = self.client.skew
        try:
            headers = {"If-None-Match": etag} if etag else None
            resp = self._fetch_client.request("GET", path, query=query, headers=headers)
            if resp.status == 304:
                self._note_sync(name, ok=True, detail="not modified")
                return None
            if resp.status != 200:
                code, message, _ = resp.error()
                raise CountyError(resp.status, code or f"http_{resp.status}", message or "（无说明）",
                                  _retry_after(resp.headers.get("retry-after")))
            try:
                doc = resp.json()
            except ValueError as exc:
                raise CountyError(200, "bad_answer", f"不是有效的 JSON：{exc}") from exc
            errors = wire.validate(doc, schema)
            if errors:
                raise CountyError(200, "bad_answer", "与接口文档不符：" + "; ".join(errors[:3]))
        except RelayError as exc:
            self._note_sync(name, ok=False, detail=str(exc))
            raise
        version = str(doc.get("version", "")) if isinstance(doc, dict) else ""
        self._note_sync(name, ok=True, detail=version)
        return Fetched(version, resp.headers.get("etag"), doc)

    def _note_sync(self, name: str, *, ok: bool, detail: str) -> None:
        with self._lock:
            self._st.sync[name] = {"at": now_iso(), "ok": ok, "detail": detail}

    def fetch_catalog(self, etag: str | None = None) -> Fetched | None:
        """The county's current service catalog, or None when `etag` is still current (HTTP 304).

        Only the envelope (version, items) is checked here; the catalog itself is
        validated and swapped in by :mod:`hall.records.catalog`. Raises RelayError
        (TransportError, CountyError, RelayConfigError) when it cannot be fetched.
        """
        return self._fetch("catalog", wire.CATALOG_PATH, "Catalog", etag=etag)

    def fetch_reasons(self, etag: str | None = None) -> Fetched | None:
        """The rating and complaint reason lists, or None when `etag` is still current."""
        return self._fetch("reasons", wire.REASONS_PATH, "Reasons", etag=etag)

    def fetch_appointments(self, since: str = "0", limit: int = 500) -> dict[str, Any]:
        """Appointments booked on the county platform after cursor `since`.

        Returns ``{"cursor", "more", "appointments": [...]}`` (wire schema
        ``Appointments``); keep the cursor and ask again while ``more`` is true.
        """
        got = self._fetch("appointments", wire.APPOINTMENTS_PATH, "Appointments",
                          query={"since": since, "limit": str(limit)})
        assert got is not None
        return got.doc


    def fetch_holidays(self, year: int) -> dict[str, Any] | None:
        """One year's official holiday and adjusted-workday list, or None when not yet published (404)."""
        try:
            got = self._fetch("holidays", wire.HOLIDAYS_PATH, "Holidays", query={"year": str(year)})
        except CountyError as exc:
            if exc.status == 404:
                self._note_sync("holidays", ok=True, detail=f"{year}: not published")
                return None
            raise
        assert got is not None
        return got.doc


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _put_state(c: sqlite3.Connection, key: str, value: str) -> None:
    c.execute("INSERT INTO relay_state (key, value, updated_at) VALUES (?, ?, ?)"
              " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
              (key, value, now_iso()))


# --------------------------------------------------------------------------- outbox queries (also for the CLI)

def outbox_status(db: Database) -> dict[str, Any]:
    """What the database alone says about the relay (works without a running relay)."""
    c = db.conn
    backlog = c.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    dead = c.execute("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
    oldest = c.execute("SELECT created_at FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1").fetchone()
    blocked = 0
    if dead:
        blocked = c.execute(
            "SELECT COUNT(*) FROM outbox p WHERE p.state = 'pending' AND EXISTS"
            " (SELECT 1 FROM outbox d WHERE d.order_key = p.order_key AND d.state = 'dead' AND d.id < p.id)"
        ).fetchone()[0]
    state = {r[0]: r[1] for r in c.execute("SELECT key, value FROM relay_state")}
    age = None
    if oldest is not None:
        from datetime import datetime

        age = round(time.time() - datetime.fromisoformat(oldest[0]).timestamp(), 1)
    drain = last_drain = None
    if state.get("drain"):
        try:
            rec = json.loads(state["drain"])
        except ValueError:
            rec = None
        if isinstance(rec, dict):
            if rec.get("finished_at"):
                last_drain = drain_view(rec, 0)
            else:  # a drain in progress (or cut short by a stop): progress from the database
                drain = drain_view(rec, backlog)
    return {
        "configured": False,
        "backlog": backlog,
        "oldest_pending_at": oldest[0] if oldest else None,
        "oldest_pending_age_seconds": age,
        "dead_letters": dead,
        "blocked_by_dead_letters": blocked,
        "last_success_at": state.get("last_success_at"),
        "last_error": state.get("last_error"),
        "last_error_at": state.get("last_error_at"),
        "drain": drain,
        "last_drain": last_drain,
    }


def dead_letters(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Dead letters, newest first, without their payloads (those hold personal data)."""
    rows = db.conn.execute(
        "SELECT id, message_id, kind, order_key, created_at, dead_at, dead_code, dead_reason, attempts, retried"
        " FROM outbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows]


def retry_dead_letter(db: Database, row_id: int, actor: str, remote: str | None = None) -> bool:
    """Put a dead letter back in line (after the cause was fixed). False if there is no such dead letter."""
    with db.write() as c:
        row = c.execute("SELECT message_id, dead_code FROM outbox WHERE id = ? AND state = 'dead'",
                        (row_id,)).fetchone()
        if row is None:
            return False
        c.execute("UPDATE outbox SET state = 'pending', retried = retried + 1 WHERE id = ?", (row_id,))
        c.execute("INSERT INTO audit (at, actor, action, target, detail, remote) VALUES (?, ?, ?, ?, ?, ?)",
                  (now_iso(), actor, "relay.retry", row["message_id"], row["dead_code"] or "", remote))
    log.info("dead letter %d (%s) put back in line by %s", row_id, row["message_id"], actor)
    return True


def prune_acked(db: Database, keep_days: int, chunk: int = 5000) -> int:
    """Delete acknowledged rows older than `keep_days` (never pending or dead ones)."""
    from datetime import datetime, timedelta

    cutoff = (datetime.fromisoformat(now_iso()) - timedelta(days=keep_days)).isoformat(timespec="milliseconds")
    total = 0
    while True:
        with db.write() as c:
            n = c.execute("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'acked'"
                          " AND acked_at < ? LIMIT ?)", (cutoff, chunk)).rowcount
        total += n
        if n < chunk:
            return total
