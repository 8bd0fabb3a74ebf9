"""The ID-card reader worker (config `kind = "idcard"`): polls for a card and reads each placement once.

Every poll sends find card (`20 01`); a found card is selected (`20 02`) and
its base information read (`30 01`). Polls come every `poll_every` seconds while
the hall is busy and every `rest_poll_every` seconds once it is at rest
(hall.drivers.pace): a card placed on a resting reader is found within that
interval, and the read itself wakes the hall. Readers do not find a card again until
it has been lifted; a reader that does is held back by `same_card_quiet`
(the same card read again within that many seconds is not a new placement).

Failures and what they become:
* a card pulled mid-read (a cut answer, `00 00 41`, a failed select) is
  counted and tried again on the next poll, without a log line each time;
* a bad checksum or a cut answer is asked for again at once (`retries`);
* the security module reporting a fault (`00 00 60` self-test failed,
  `00 00 66` not authorised), or no SAM answer at connect, is state 异常
  with a Chinese message; the SAM is checked again every few seconds;
* no answer at all for `offline_after` polls in a row is 离线 (reconnect).

A read is published as `idcard.read` with `CardRecord.public()`: masked
name and number and a keyed hash, never the full number. The full record
stays in memory for `keep_seconds` for `take_card(id_hash)`, the hook a
future case registration (受理登记) will use.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from hall.drivers.base import DeviceWorker
from hall.drivers.idcard import protocol as P
from hall.drivers.idcard.record import CardRecord, RecordError, id_hash, parse_text
from hall.drivers.options import float_option, int_option
from hall.drivers.pace import Pace
from hall.drivers.transport import Transport, TransportError, open_transport

log = logging.getLogger(__name__)

EVENT = "idcard.read"
SAM_FAULTS = {P.ST_SAM_SELF_TEST_FAILED, P.ST_SAM_NOT_AUTHORISED}
DEFAULT_BAUD = 115200

Publish = Callable[[str, dict[str, Any]], Any]


class NoAnswer(Exception):
    """The reader did not answer a command after every retry (not yet an offline line)."""


class IdCardReader(DeviceWorker):
    kind = "idcard"

    def __init__(self, name: str, transport: Transport, *, publish: Publish | None = None,
                 hash_key: bytes | None = None, window: int | None = None, emulated: bool = False,
                 poll_every: float = 0.5, reply_timeout: float = 0.5, read_timeout: float = 2.0,
                 retries: int = 2, offline_after: int = 3, same_card_quiet: float = 3.0,
                 keep_seconds: float = 120.0, sam_recheck: float = 3.0,
                 backoff_min: float = 0.5, backoff_max: float = 10.0, rest_poll_every: float = 2.0,
                 pace: Pace | None = None) -> None:
        super().__init__(name, transport, emulated=emulated, backoff_min=backoff_min,
                         backoff_max=backoff_max, idle_interval=poll_every, pace=pace,
                         rest_interval=rest_poll_every)
        self.publish = publish
        self.hash_key = hash_key
        self.window = window
        self.reply_timeout, self.read_timeout = reply_timeout, read_timeout
        self.retries, self.offline_after = max(1, retries), max(1, offline_after)
        self.same_card_quiet, self.keep_seconds = same_card_quiet, keep_seconds
        self.sam_recheck = sam_recheck      # seconds between SAM checks while it is at fault
        self.parser = P.FrameParser()
        self.counters = {"reads": 0, "repeats": 0, "interrupted": 0, "resent": 0, "bad_records": 0,
                         "no_answer": 0, "sam_faults": 0}
        self.sam_detail = ""
        self.last_card: dict[str, Any] | None = None
        self.last_read_at: float | None = None
        self._misses = 0
        self._sam_checked = 0.0
        self._last_digest: tuple[str, float] | None = None      # (unkeyed digest, monotonic time)
        self._full: tuple[CardRecord, float] | None = None

    # ------------------------------------------------------------ public
    def status(self) -> dict[str, Any]:
        st = super().status()
        st.update({
            "window": self.window,
            "sam": self.sam_detail or "正常",
            "reads": self.counters["reads"],
            "counters": dict(self.counters),
            "dropped": self.parser.stats.as_dict(),
            "last_card": dict(self.last_card) if self.last_card else None,
            "last_read_at": self.last_read_at,
            "hash_key": self.hash_key is not None,
        })
        if st["last_card"]:
            st["last_card"].pop("id_hash", None)     # the technician needs no hash; the event carries it
        return st

    def test(self, timeout: float = 5.0) -> dict[str, Any]:
        """Technician test: a SAM status round trip on the worker (the request thread only waits)."""
        if not self.online:
            return {"ok": False, "message": f"身份证阅读器离线：{self.last_error or '未连接'}"}
        fut = self.submit(self._test)
        try:
            return fut.result(timeout)
        except Exception as exc:
            return {"ok": False, "message": f"身份证阅读器测试失败：{exc}"}

    def take_card(self, hash_hex: str) -> CardRecord | None:
        """The full record of the card just read, if its keyed hash is `hash_hex` and it was read
        less than `keep_seconds` ago; handed out once. For code that must keep the number (a case)."""
        full = self._full
        if full is None or self.hash_key is None or time.monotonic() - full[1] > self.keep_seconds:
            return None
        if id_hash(full[0].id_number, self.hash_key) != hash_hex:
            return None
        self._full = None
        return full[0]

    # ------------------------------------------------------- worker hooks
    def on_connect(self, transport: Transport) -> None:
        self.parser = P.FrameParser(stats=self.parser.stats)
        self._misses = 0
        try:
            ans = self._transact(transport, P.SAM_STATUS)
        except NoAnswer as exc:
            raise TransportError(f"身份证阅读器无应答（安全模块未响应）/ no answer: {exc}") from exc
        self._sam_result(ans)

    def poll(self, transport: Transport) -> None:
        now = time.monotonic()
        if self._full is not None and now - self._full[1] > self.keep_seconds:
            self._full = None
        try:
            if self.sam_detail:
                if now - self._sam_checked >= self.sam_recheck:
                    self._sam_result(self._transact(transport, P.SAM_STATUS))
                return
            self._poll_card(transport)
        except NoAnswer:
            self.counters["no_answer"] += 1
            self._misses += 1
            if self._misses >= self.offline_after:
                raise TransportError(f"身份证阅读器连续 {self._misses} 次无应答 / no answer") from None
            return
        self._misses = 0

    # ------------------------------------------------------------ internal
    def _test(self, transport: Transport) -> dict[str, Any]:
        try:
            ans = self._transact(transport, P.SAM_STATUS)
        except NoAnswer:
            return {"ok": False, "message": "安全模块无应答"}
        self._sam_result(ans)
        if ans.status != P.ST_OK:
            return {"ok": False, "message": f"安全模块状态：{ans.describe()}"}
        return {"ok": True, "message": f"安全模块正常（{ans.sw.hex(' ').upper()}），已读卡 {self.counters['reads']} 次"}

    def _sam_result(self, ans: P.Answer) -> None:
        self._sam_checked = time.monotonic()
        if ans.status == P.ST_OK:
            if self.sam_detail:
                log.info("idcard %s: security module is back", self.name)
            self.sam_detail = ""
            self.set_degraded("")
            return
        self._sam_fault(ans)

    def _sam_fault(self, ans: P.Answer) -> None:
        detail = f"身份证阅读器安全模块（SAM）不可用：{ans.describe()}，请检查阅读器或联系厂家"
        if detail != self.sam_detail:
            log.warning("idcard %s: security module fault %s", self.name, ans.sw.hex(" "))
            self.counters["sam_faults"] += 1
        self.sam_detail = detail
        self._sam_checked = time.monotonic()
        self.set_degraded(detail)

    def _poll_card(self, transport: Transport) -> None:
        found = self._transact(transport, P.FIND_CARD)
        if found.status in SAM_FAULTS:
            self._sam_fault(found)
            return
        if found.status != P.ST_CARD_FOUND:
            return                       # no card (00 00 80), or one not yet readable
        try:
            sel = self._transact(transport, P.SELECT_CARD)
            if sel.status != P.ST_OK:
                raise NoAnswer(sel.describe())
            ans = self._transact(transport, P.READ_BASE, timeout=self.read_timeout)
            if ans.status != P.ST_OK:
                raise NoAnswer(ans.describe())
        except NoAnswer as exc:           # the card left mid-read: the next poll tries again
            self.counters["interrupted"] += 1
            log.debug("idcard %s: read interrupted: %s", self.name, exc)
            return
        try:
            text, _photo = P.split_base_info(ans.data)     # the photo needs a licensed decoder: dropped
            rec = parse_text(text)
        except (P.ProtocolError, RecordError) as exc:
            self.counters["bad_records"] += 1
            log.warning("idcard %s: unreadable base information: %s", self.name, exc)
            return
        self._deliver(rec)

    def _deliver(self, rec: CardRecord) -> None:
        now = time.monotonic()
        digest = hashlib.sha256(rec.id_number.encode("utf-8")).hexdigest()
        last = self._last_digest
        self._last_digest = (digest, now)
        if last is not None and last[0] == digest and now - last[1] < self.same_card_quiet:
            self.counters["repeats"] += 1
            return
        public = rec.public(self.hash_key)
        self.counters["reads"] += 1
        self.last_card = public
        self.last_read_at = time.time()
        self.last_ok_at = self.last_read_at
        self._full = (rec, now)
        log.info("idcard %s: card read (%s)", self.name, public["id_masked"])
        if self.publish is not None:
            try:
                self.publish(EVENT, {"device": self.name, "window": self.window, "read_at": self.last_read_at,
                                     **public})
            except Exception:
                log.exception("idcard %s: publishing the read failed", self.name)

    def _transact(self, transport: Transport, command: tuple[int, int], *,
                  timeout: float | None = None) -> P.Answer:
        """Send a command and wait for its answer; a bad checksum or a cut answer is asked again
        at once. Raises NoAnswer after `retries` tries."""
        wait = self.reply_timeout if timeout is None else timeout
        request = P.encode_command(command)
        for attempt in range(self.retries):
            if attempt:
                self.counters["resent"] += 1
            self.parser.reset()          # request/answer: bytes of an earlier, cut answer are stale
            bad = self.parser.stats.bad_checksum
            transport.write(request)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                data = transport.read(self.parser.wanted(), max(0.01, deadline - time.monotonic()))
                frames = self.parser.feed(data)
                if frames:
                    try:
                        return P.decode_answer(frames[0])
                    except P.ProtocolError:
                        break
                if self.parser.stats.bad_checksum != bad:
                    break                # a damaged answer: ask again now
        raise NoAnswer(f"{P.COMMAND_NAMES.get(command, '?')} 无应答")


def load_hash_key(ctx: Any) -> bytes | None:
    """The key for `id_hash`: `DeviceContext.extra["id_hash_key"]` when the service gives one (the hook
    for a hall-wide secret), else a random key made once and kept in the data folder (`idcard.key`),
    so hashes stay comparable across restarts on this hall PC."""
    key = ctx.extra.get("id_hash_key")
    if key:
        return bytes(key)
    import secrets

    path = ctx.data_dir / "idcard.key"
    try:
        if not path.exists():
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(secrets.token_hex(32), encoding="utf-8")
            tmp.replace(path)
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError) as exc:
        log.error("idcard: no hash key (%s): reads carry no id_hash", exc)
        return None


def build_idcard(spec: Any, ctx: Any) -> IdCardReader:
    """Factory builder for kind "idcard" (see hall.drivers.factory).

    `emulator://` starts the reader emulator on TCP 127.0.0.1; `emulator://pty` behind a pty driven
    as a serial line (POSIX). Options: baudrate (115200), poll_every (0.5 s), rest_poll_every (2 s),
    reply_timeout (0.5 s), read_timeout (2 s), same_card_quiet (3 s).
    """
    opts = dict(spec.options)
    what = "身份证阅读器选项"
    baud = int_option(opts, "baudrate", DEFAULT_BAUD, what=what)
    transport: Transport
    emulated = spec.url.startswith("emulator://")
    if emulated:
        from hall.drivers.emulators.channel import driver_transport
        from hall.drivers.emulators.idcard import IdCardEmulator

        emu = IdCardEmulator(name=spec.name)
        transport = driver_transport(emu, spec.url, baudrate=baud)
        ctx.manager.add_emulator(spec.name, emu)
    else:
        transport = open_transport(spec.url, {**opts, "baudrate": baud})
    return IdCardReader(
        spec.name, transport, publish=ctx.hub.publish, hash_key=load_hash_key(ctx), window=spec.window,
        emulated=emulated,
        poll_every=float_option(opts, "poll_every", 0.5, what=what),
        reply_timeout=float_option(opts, "reply_timeout", 0.5, what=what),
        read_timeout=float_option(opts, "read_timeout", 2.0, what=what),
        same_card_quiet=float_option(opts, "same_card_quiet", 3.0, what=what),
        rest_poll_every=float_option(opts, "rest_poll_every", 2.0, what=what), pace=ctx.manager.pace,
    )
