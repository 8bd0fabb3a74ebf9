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

The package around this loop: :mod:`hall.relay.client` (the signed HTTP client
and the link's configuration), :mod:`hall.relay.fetch` (what the hall fetches
from the county), :mod:`hall.relay.sync` (when it fetches),
:mod:`hall.relay.outbox` (the table, and the queries the CLI uses without a
running sender), :mod:`hall.relay.wire` (the wire format).

This module stays whole at ~580 lines because the loop, its backoff and drain
state and the one-transaction marking of a batch share one lock and one state
record: the exactly-once argument above reads in one place.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hall.config.schema import County
from hall.relay import wire
from hall.relay.client import (
    CountyClient,
    CountyError,
    RelayConfigError,
    RelayError,
    check_endpoint,
    load_secret,
    parse_retry_after,
)
from hall.relay.fetch import CountyFetcher, Fetched
from hall.relay.outbox import drain_view, now_iso, outbox_status, prune_acked, put_state
from hall.security import redact_text
from hall.store.db import Database

log = logging.getLogger(__name__)

HALL_ACTIVE_SECONDS = 3.0  # a hall event this recent means people are being served: drain gently


# dup-ok: one batch's counts, shaped like county_sim.Stats (the county's side) but counting the hall's
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
        # Fetches go over a client of their own, so a catalog fetch never waits behind a batch in flight.
        self.fetcher = CountyFetcher(client.clone() if client is not None else None, signer=client,
                                     config_error=self.config_error)
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
        for client in (self.client, self.fetcher.client):
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
            self.fetcher.close()
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
            self.db.release()    # not pinned while the relay waits (see Database.release)
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
                self.db.release()
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
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
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
            put_state(c, "last_success_at", at)
            if drain is not None:
                put_state(c, "drain", json.dumps(drain.record(), ensure_ascii=False))
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
                put_state(c, "drain", json.dumps(drain.record(), ensure_ascii=False))
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
                put_state(c, "last_error", str(exc))
                put_state(c, "last_error_at", self._st.last_error_at or "")
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
                "sync": self.fetcher.outcomes(),
                "dropped_fields": wire.dropped_fields(),
            })
        return base

    # ------------------------------------------------------------------ fetches (hall.relay.fetch)
    def fetch_catalog(self, etag: str | None = None) -> Fetched | None:
        """The county's service catalog, or None when `etag` is still current (see CountyFetcher.catalog)."""
        return self.fetcher.catalog(etag)

    def fetch_reasons(self, etag: str | None = None) -> Fetched | None:
        """The rating and complaint reason lists, or None when `etag` is still current."""
        return self.fetcher.reasons(etag)

    def fetch_appointments(self, since: str = "0", limit: int = 500) -> dict[str, Any]:
        """Appointments booked on the county platform after cursor `since` (see CountyFetcher.appointments)."""
        return self.fetcher.appointments(since, limit)

    def fetch_holidays(self, year: int) -> dict[str, Any] | None:
        """One year's official holiday and adjusted-workday list, or None when not yet published (404)."""
        return self.fetcher.holidays(year)
