"""ID-card reads at kiosks and windows: short-lived, server-side, scoped to where the reader stands.

A reader publishes `idcard.read` (masked fields and a keyed hash). This
listener takes the full record from the reader (`take_card`) and keeps it in
memory only, then announces `card.read` to the one kiosk the reader belongs to
with a random read id, the masked name, the age and whether to offer the
绿色通道. The browser never sees the ID number or its hash: the ticket request
names the read id, and the service looks the read up here (once).

The full record stays in memory, never in the database or an event, for two
uses that need the real number: a ticket taken with the card keeps it until the
end of the day so the clerk who serves that ticket can prefill the case
registration (server-side: the browser gets masked values); a read at a window's
own reader serves that window's next registration. A service restart forgets
them; the citizen then places the card again (nothing a citizen wrote is lost).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hall.config.schema import HallConfig
from hall.events import Event
from hall.queue.clock import Clock
from hall.queue.models import CardHolder

log = logging.getLogger(__name__)

READ_EVENT = "card.read"          # to one kiosk's stream only (hall.web.api_events)
WINDOW_EVENT = "card.window"      # a window's reader was used: the clerk console asks for the masked view
HELD_MAX = 3000                   # cards held for the day's tickets (a busy hall issues a few hundred)

Publish = Callable[[str, dict[str, Any]], object]
FindAppointment = Callable[[str], dict[str, Any] | None]


def age_on(birth: str, today: date) -> int | None:
    """Full years on `today` for a card's YYYYMMDD birth date; None when unreadable."""
    try:
        y, m, d = int(birth[:4]), int(birth[4:6]), int(birth[6:8])
        date(y, m, d)
    except (ValueError, IndexError):
        return None
    age = today.year - y - ((today.month, today.day) < (m, d))
    return age if 0 <= age < 150 else None


def age_band(age: int | None) -> str:
    """What the clerk sees instead of a birth date."""
    if age is None:
        return "年龄不详"
    if age < 18:
        return "18岁以下"
    if age < 60:
        return "18–59岁"
    if age >= 80:
        return "80岁以上"
    lo = age // 10 * 10
    return f"{lo}–{lo + 9}岁"


@dataclass
class CardRead:
    read_id: str
    device: str
    kiosk: str | None            # [[kiosks]] id; None: the plain /kiosk page (or a window's reader)
    window: int | None
    name: str                    # masked (张*)
    sex: str
    age: int | None
    id_hash: str
    record: Any | None = field(repr=False, default=None)   # the driver's CardRecord (full number), memory only
    expires: float = 0.0
    appointment: dict[str, Any] | None = None

    def public(self, priority_age: int) -> dict[str, Any]:
        """What the kiosk page receives: nothing that identifies the person beyond 张* and an age."""
        return {"read_id": self.read_id, "kiosk": self.kiosk, "window": self.window, "name": self.name,
                "sex": self.sex, "age": self.age, "age_band": age_band(self.age),
                "priority_offer": self.age is not None and self.age >= priority_age,
                "expires_in": max(0, round(self.expires - time.monotonic())),
                "appointment": self.appointment}


class CardReadError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class CardReads:
    def __init__(self, config: HallConfig, clock: Clock, get_device: Callable[[str], Any], publish: Publish,
                 find_appointment: FindAppointment | None = None) -> None:
        self.config = config
        self.clock = clock
        self.get_device = get_device
        self.publish = publish
        self.find_appointment = find_appointment
        self._lock = threading.Lock()
        self._reads: dict[str, CardRead] = {}
        self._windows: dict[int, CardRead] = {}
        self._held: OrderedDict[int, tuple[str, Any]] = OrderedDict()   # ticket id → (service day, record)
        self._kiosk_of = {k.idcard: k.id for k in config.kiosks if k.idcard}
        self.unbound_reads: dict[str, int] = {}   # reader name → reads dropped (shown on /tech)

    @property
    def policy(self) -> Any:
        return self.config.citizen

    # ------------------------------------------------------------------ reads come in
    def on_event(self, ev: Event) -> None:
        """Hub listener (runs on the reader's worker thread: memory and one indexed read only)."""
        if ev.kind != "idcard.read":
            return
        try:
            self._on_read(ev.data)
        except Exception:
            log.exception("card read from %s could not be handled", ev.data.get("device"))

    def _on_read(self, data: dict[str, Any]) -> None:
        name = str(data.get("device") or "")
        id_hash = data.get("id_hash")
        if not id_hash:
            log.warning("card read from %s carries no keyed hash: ignored for ticketing", name)
            return
        device = self.get_device(name)
        record = device.take_card(id_hash) if device is not None and hasattr(device, "take_card") else None
        window = data.get("window")
        kiosk = self._kiosk_of.get(name)
        if kiosk is None and not isinstance(window, int):
            self._unbound(name)
            return
        today = self.clock.today()
        read = CardRead(
            read_id=secrets.token_urlsafe(12), device=name, kiosk=kiosk,
            window=window if isinstance(window, int) and kiosk is None else None,
            name=str(data.get("name") or ""), sex=str(data.get("sex") or ""),
            age=age_on(record.birth, today) if record is not None else None, id_hash=str(id_hash),
            record=record, expires=time.monotonic() + self.policy.card_read_seconds)
        if self.find_appointment is not None and read.window is None:
            read.appointment = self.find_appointment(read.id_hash)
        with self._lock:
            self._expire()
            if read.window is not None:
                self._windows[read.window] = read
            else:
                # one read waits per kiosk: a new card replaces the previous person's
                for rid in [r.read_id for r in self._reads.values() if r.kiosk == kiosk]:
                    del self._reads[rid]
                self._reads[read.read_id] = read
        if read.window is not None:
            self.publish(WINDOW_EVENT, {"window": read.window})
        else:
            self.publish(READ_EVENT, read.public(self.policy.priority_age))

    def _unbound(self, name: str) -> None:
        """A reader bound to no kiosk and no window: its read goes to no kiosk.

        WHY no fallback (not even "the only paired kiosk"): where a read goes must follow from the
        config alone, not from which pages happen to be paired at the moment; a reader that is really
        at a window would otherwise put a citizen's card on a kiosk screen. `kiosk config check`,
        `kiosk diag` and /tech name the missing line (hall.cli.config_cmd.card_reader_warnings).
        """
        with self._lock:
            first = name not in self.unbound_reads
            self.unbound_reads[name] = self.unbound_reads.get(name, 0) + 1
        if first:
            log.warning("card reader %s is bound to no kiosk or window: its reads go to no kiosk "
                        "(set idcard = \"%s\" in that kiosk's [[kiosks]] entry, or window = N on the device)",
                        name, name)

    def _expire(self) -> None:
        now = time.monotonic()
        for rid in [rid for rid, r in self._reads.items() if r.expires < now]:
            del self._reads[rid]
        for w in [w for w, r in self._windows.items() if r.expires < now]:
            del self._windows[w]

    # ------------------------------------------------------------------ the kiosk takes a number
    def claim(self, read_id: str, kiosk: str | None) -> CardRead:
        """The read a ticket request names, handed out once, only to the (paired) kiosk it was read at
        (a reader bound to no kiosk makes no reads a kiosk could claim: `_unbound`)."""
        with self._lock:
            self._expire()
            read = self._reads.get(read_id)
            if read is None:
                raise CardReadError("card_read_gone", "身份证信息已失效，请重新放置身份证后再取号", 410)
            if read.kiosk is None or read.kiosk != kiosk:
                raise CardReadError("card_other_kiosk",
                                    "此身份证不是在本机读取的，请将身份证放在本机读卡区后再取号", 403)
            del self._reads[read_id]
        return read

    def put_back(self, read: CardRead) -> None:
        """A claimed read whose ticket was refused (limit, closed): the citizen may choose again."""
        with self._lock:
            self._reads.setdefault(read.read_id, read)

    def holder(self, read: CardRead) -> CardHolder:
        return CardHolder(id_hash=read.id_hash, name=read.name, age=read.age,
                          daily_limit=self.policy.daily_limit_per_category)

    def hold_for_ticket(self, ticket_id: int, read: CardRead) -> None:
        """Keep the full record for the clerk who will serve `ticket_id` (today only, memory only)."""
        if read.record is None:
            return
        with self._lock:
            self._held[ticket_id] = (self.clock.today().isoformat(), read.record)
            while len(self._held) > HELD_MAX:
                self._held.popitem(last=False)

    # ------------------------------------------------------------------ the clerk registers a case
    def record_for(self, window: int, ticket_id: int | None) -> tuple[str, Any] | None:
        """(source, CardRecord) for a case registration at `window`: a fresh read at the window's own
        reader first, else the card the served ticket was taken with (today). Not consumed: the clerk
        may open the form twice; registration takes it with `take_for`."""
        today = self.clock.today().isoformat()
        with self._lock:
            self._expire()
            read = self._windows.get(window)
            if read is not None and read.record is not None:
                return "window", read.record
            if ticket_id is not None:
                held = self._held.get(ticket_id)
                if held is not None and held[0] == today:
                    return "ticket", held[1]
        return None

    def take_for(self, window: int, ticket_id: int | None) -> Any | None:
        """The record for a registration, forgotten here once the case holds it."""
        found = self.record_for(window, ticket_id)
        if found is None:
            return None
        with self._lock:
            if found[0] == "window":
                self._windows.pop(window, None)
            elif ticket_id is not None:
                self._held.pop(ticket_id, None)
        return found[1]

    def drop_day(self) -> None:
        """Forget cards held for earlier days' tickets (the daily roll-over)."""
        today = self.clock.today().isoformat()
        with self._lock:
            for tid in [t for t, (day, _) in self._held.items() if day != today]:
                del self._held[tid]
