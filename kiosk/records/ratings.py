"""Ratings (好差评): prompts, one rating per service, 差评 reasons, rectification (整改).

Rules (DESIGN.md §4, issue 4):

* 一次一评: one rating per service. A service is a case when the ticket led to
  one, else the ticket itself (``service_key`` ``case:<id>`` / ``ticket:<id>``).
  A citizen may add one later rating (assess number 2), once.
* A 差评 (不满意, 非常不满意) needs at least one reason from the reason list; it
  opens a rectification task due in N working days (config ``records.rectification_days``).
* The window's evaluator (keypad or tablet) rates only while a prompt is open:
  the clerk presses "请评价", the prompt lives ``records.prompt_seconds``; a press
  outside a prompt records nothing.
* The clerk cannot rate: any staff actor is refused. The clerk sees a rating
  only once it is final (``records.clerk_delay_minutes`` after it was given);
  live events never carry the level.
* A phone rates through the QR printed on the ticket: ``/r/<token>``, where the
  token is an HMAC of the ticket id under a per-hall key (unguessable, nothing
  to store per ticket). :func:`rating_url` gives the path for the printer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hall.queue.clock import iso
from hall.queue.models import Ticket
from hall.records.base import RecordContext
from hall.records.cases import CaseService
from hall.records.models import BAD_LEVELS, CHANNELS, LEVELS, RatingIn, level_name
from hall.records.reasons import ReasonList, ReasonListError
from hall.records.rectification import Rectifications
from hall.records.util import Actor, RecordError, conflict, dumps, invalid, not_found
from hall.security import redact_text

log = logging.getLogger(__name__)

RECT_STATES = ("待整改", "已回复", "已核实", "已关闭")


@dataclass(frozen=True)
class Service:
    """The thing being rated."""

    key: str                    # case:<id> | ticket:<id>
    ticket_id: int | None
    case_id: int | None
    clerk: str | None
    window: int | None
    category: str | None
    item_code: str | None
    item_name: str | None
    ticket_number: str | None

    @property
    def order_key(self) -> str:
        """Outbox stream: a case's rating follows the case's own messages."""
        return self.key


def staff_refused(actor: Actor) -> None:
    if actor.is_staff:
        raise RecordError("staff_cannot_rate", "工作人员不能代替群众评价", 403)


# ---------------------------------------------------------------------- tokens
_url_service: RatingService | None = None


def rating_url(ticket_id: int) -> str:
    """Path part of the phone rating page for a ticket ("/r/<token>"), for the ticket's QR.

    Prefix it with the hall's LAN address. The running service registers itself
    here at start; device code that has a ``DeviceContext`` can equally use
    ``ctx.extra["rating_url"]``.
    """
    if _url_service is None:
        raise RuntimeError("rating_url: the records service is not running")
    return _url_service.rating_url(ticket_id)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class RatingService(Rectifications):
    """Prompts and ratings; the 整改 steps of a 差评 come from `Rectifications`."""

    def __init__(self, ctx: RecordContext, cases: CaseService, reasons: ReasonList, key: bytes) -> None:
        self.ctx = ctx
        self.cases = cases
        self.reasons = reasons
        self._key = key
        # Called after a prompt opened, so the background thread schedules its expiry.
        self.on_prompt: Callable[[], None] = lambda: None

    def register_for_urls(self) -> None:
        global _url_service
        _url_service = self

    # ------------------------------------------------------------------ tokens
    def ticket_token(self, ticket_id: int) -> str:
        mac = hmac.new(self._key, f"rate-ticket:{ticket_id}".encode(), hashlib.sha256).digest()[:12]
        return f"{ticket_id}-{_b64(mac)}"

    def rating_url(self, ticket_id: int) -> str:
        return f"/r/{self.ticket_token(ticket_id)}"

    def ticket_of_token(self, token: str) -> int:
        num, _, _mac = token.partition("-")
        if not num.isdigit() or len(num) > 12 or not hmac.compare_digest(self.ticket_token(int(num)), token):
            raise RecordError("bad_token", "评价二维码无效，请扫描票据上的二维码", 404)
        return int(num)

    # ------------------------------------------------------------------ services
    def current_ticket_of_token(self, token: str) -> int:
        """The ticket a QR token stands for now (after transfers): what the phone page follows."""
        ticket_id = self.ticket_of_token(token)
        with self.ctx.db.read() as c:
            return self._final_ticket(c, ticket_id).id

    def _ticket(self, c: sqlite3.Connection, ticket_id: int) -> Ticket:
        row = c.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise not_found(f"票号 {ticket_id} ")
        return Ticket.from_row(row)

    def _final_ticket(self, c: sqlite3.Connection, ticket_id: int) -> Ticket:
        """Follow transfers: the ticket a citizen holds may have been moved to another category."""
        t = self._ticket(c, ticket_id)
        for _ in range(20):
            row = c.execute("SELECT id FROM tickets WHERE transferred_from = ? ORDER BY id DESC LIMIT 1",
                            (t.id,)).fetchone()
            if row is None:
                break
            t = self._ticket(c, int(row[0]))
        return t

    def _service(self, c: sqlite3.Connection, ticket: Ticket | None, case_row: sqlite3.Row | None) -> Service:
        if case_row is not None:
            return Service(f"case:{case_row['id']}", case_row["ticket_id"], case_row["id"], case_row["clerk"],
                           case_row["window"], case_row["category"], case_row["item_code"], case_row["item_name"],
                           ticket.number if ticket else None)
        assert ticket is not None
        return Service(f"ticket:{ticket.id}", ticket.id, None, ticket.clerk, ticket.window, ticket.category,
                       None, None, ticket.number)

    def _rated(self, c: sqlite3.Connection, key: str) -> set[int]:
        return {int(r[0]) for r in c.execute("SELECT assess_number FROM ratings WHERE service_key = ?", (key,))}

    def _services_of_ticket(self, c: sqlite3.Connection, ticket: Ticket) -> list[Service]:
        """The ticket's cases (each a service) or, with none, the ticket itself."""
        ids = [ticket.id]
        src = ticket.transferred_from
        while src is not None and len(ids) < 20:   # cases may hang on the pre-transfer ticket
            ids.append(src)
            src = self._ticket(c, src).transferred_from
        marks = ",".join("?" * len(ids))
        rows = c.execute(f"SELECT * FROM cases WHERE ticket_id IN ({marks}) ORDER BY id", ids).fetchall()
        if rows:
            return [self._service(c, ticket, r) for r in rows]
        return [self._service(c, ticket, None)]

    # ------------------------------------------------------------------ prompts
    def _window_ticket(self, c: sqlite3.Connection, window: int) -> Ticket | None:
        row = c.execute(
            "SELECT * FROM tickets WHERE window = ? AND state IN ('called', 'serving') ORDER BY id DESC LIMIT 1",
            (window,),
        ).fetchone()
        if row is not None:
            return Ticket.from_row(row)
        since = iso(self.ctx.now() - timedelta(minutes=self.ctx.policy.rate_after_finish_minutes))
        row = c.execute(
            "SELECT * FROM tickets WHERE window = ? AND state = 'done' AND finished_at >= ? "
            "ORDER BY finished_at DESC, id DESC LIMIT 1",
            (window, since),
        ).fetchone()
        return Ticket.from_row(row) if row else None

    def open_prompt(self, window: int, actor: Actor, case_id: int | None = None) -> dict[str, Any]:
        """The clerk's "请评价": the window's evaluator asks for a rating of the current service."""
        if self.ctx.config.window(window) is None:
            raise RecordError("unknown_window", f"{window}号窗口不存在", 404)
        now = self.ctx.now()
        cancelled: list[int] = []
        with self.ctx.db.write() as c:
            ticket = self._window_ticket(c, window)
            case_row = None
            if case_id is not None:
                case_row = c.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
                if case_row is None:
                    raise not_found(f"办件 {case_id} ")
                if ticket is not None and case_row["ticket_id"] not in (None, ticket.id) \
                        and case_row["ticket_id"] != ticket.transferred_from:
                    raise conflict("case_mismatch", "该办件不属于本窗口当前办理的号")
            elif ticket is not None:
                # The first case of this visit not yet rated; with every case rated, the last one
                # (so the check below says "already rated" instead of rating the bare ticket too).
                candidates = [s for s in self._services_of_ticket(c, ticket) if s.case_id is not None]
                pick = next((s for s in candidates if 1 not in self._rated(c, s.key)),
                            candidates[-1] if candidates else None)
                if pick is not None:
                    case_row = c.execute("SELECT * FROM cases WHERE id = ?", (pick.case_id,)).fetchone()
            if ticket is None and case_row is None:
                raise conflict("nothing_to_rate", "当前窗口没有可评价的服务（请在办理时或办结后及时请评价）")
            svc = self._service(c, ticket, case_row)
            if 1 in self._rated(c, svc.key):
                raise conflict("already_rated", "该服务已评价（一次一评）")
            for r in c.execute("SELECT id FROM rating_prompts WHERE window = ? AND state = 'open'", (window,)):
                cancelled.append(int(r[0]))
            c.execute("UPDATE rating_prompts SET state = 'cancelled', closed_at = ? "
                      "WHERE window = ? AND state = 'open'", (iso(now), window))
            expires = now + timedelta(seconds=self.ctx.policy.prompt_seconds)
            cur = c.execute(
                "INSERT INTO rating_prompts (window, ticket_id, case_id, clerk, opened_at, expires_at, state) "
                "VALUES (?, ?, ?, ?, ?, ?, 'open')",
                (window, svc.ticket_id, svc.case_id, actor.id, iso(now), iso(expires)),
            )
            prompt_id = int(cur.lastrowid or 0)
            self.ctx.audit(c, actor, "rating.prompt", f"window:{window}", svc.key)
        for pid in cancelled:
            self.ctx.publish("rating.closed", {"window": window, "prompt_id": pid, "reason": "replaced"})
        payload = {
            "window": window, "prompt_id": prompt_id, "ticket_id": svc.ticket_id, "case_id": svc.case_id,
            "number": svc.ticket_number, "item_name": svc.item_name, "expires_at": iso(expires),
            "clerk_id": actor.id, "clerk_name": self.ctx.staff_name(actor.id) or actor.id,
        }
        self.ctx.publish("rating.prompt", payload)
        self.on_prompt()
        return payload

    def cancel_prompt(self, window: int, actor: Actor) -> bool:
        with self.ctx.db.write() as c:
            ids = [int(r[0]) for r in c.execute(
                "SELECT id FROM rating_prompts WHERE window = ? AND state = 'open'", (window,))]
            c.execute("UPDATE rating_prompts SET state = 'cancelled', closed_at = ? "
                      "WHERE window = ? AND state = 'open'", (self.ctx.now_iso(), window))
            if ids:
                self.ctx.audit(c, actor, "rating.prompt_cancel", f"window:{window}")
        for pid in ids:
            self.ctx.publish("rating.closed", {"window": window, "prompt_id": pid, "reason": "cancelled"})
        return bool(ids)

    def expire_prompts(self) -> int:
        """Close prompts whose time is up and tell the evaluators ("rating.closed")."""
        now = self.ctx.now_iso()
        with self.ctx.db.write() as c:
            rows = c.execute("SELECT id, window FROM rating_prompts WHERE state = 'open' AND expires_at <= ?",
                             (now,)).fetchall()
            if rows:
                c.execute("UPDATE rating_prompts SET state = 'expired', closed_at = ? "
                          "WHERE state = 'open' AND expires_at <= ?", (now, now))
        for r in rows:
            self.ctx.publish("rating.closed", {"window": r["window"], "prompt_id": r["id"], "reason": "expired"})
        return len(rows)

    def next_expiry(self) -> str | None:
        row = self.ctx.db.conn.execute("SELECT MIN(expires_at) FROM rating_prompts WHERE state = 'open'").fetchone()
        return row[0] if row else None

    def _open_prompt(self, c: sqlite3.Connection, window: int) -> sqlite3.Row | None:
        return c.execute(
            "SELECT * FROM rating_prompts WHERE window = ? AND state = 'open' AND expires_at > ? "
            "ORDER BY id DESC LIMIT 1",
            (window, self.ctx.now_iso()),
        ).fetchone()

    def current_prompt(self, window: int) -> dict[str, Any] | None:
        """What the window's tablet shows: the open prompt, or None (idle)."""
        with self.ctx.db.read() as c:
            p = self._open_prompt(c, window)
            if p is None:
                return None
            item = None
            if p["case_id"] is not None:
                item = c.execute("SELECT item_name FROM cases WHERE id = ?", (p["case_id"],)).fetchone()
            number = None
            if p["ticket_id"] is not None:
                number = c.execute("SELECT number FROM tickets WHERE id = ?", (p["ticket_id"],)).fetchone()
        return {"window": window, "prompt_id": p["id"], "ticket_id": p["ticket_id"], "case_id": p["case_id"],
                "number": number[0] if number else None, "item_name": item[0] if item else None,
                "expires_at": p["expires_at"], "clerk_id": p["clerk"],
                "clerk_name": self.ctx.staff_name(p["clerk"]) or p["clerk"]}

    # ------------------------------------------------------------------ submitting
    def _insert(self, c: sqlite3.Connection, svc: Service, *, channel: str, level: str, reasons: list[str],
                comment: str | None, assess: int, prompt_id: int | None, actor: Actor,
                device: bool = False) -> dict[str, Any]:
        """One rating (+ rectification for a 差评) with audit and outbox rows, in the caller's transaction."""
        staff_refused(actor)
        if channel not in CHANNELS:
            raise invalid(f"评价渠道“{channel}”无效")
        level = level_name(level)
        bad = level in BAD_LEVELS
        pending = False      # a keypad 差评 without reason keys: "原因待补" until the citizen completes it
        try:
            if bad:
                if not reasons:
                    if not device:
                        raise invalid("差评请至少选择一项原因")
                    reasons = [self.reasons.device_reason().code]
                    pending = True
                chosen = self.reasons.resolve_rating(reasons, device=device)
            elif reasons:
                raise invalid("只有“不满意”“非常不满意”需要选择原因")
            else:
                chosen = []
        except ReasonListError as exc:
            raise invalid(str(exc)) from exc
        rated = self._rated(c, svc.key)
        if assess == 1 and 1 in rated:
            raise conflict("already_rated", "该服务已评价（一次一评）；如需补充，可追加评价一次")
        if assess == 2:
            if 1 not in rated:
                raise conflict("not_rated", "该服务尚未评价，不能追加评价")
            if 2 in rated:
                raise conflict("already_added", "该服务已追加过评价，不能再次评价")
        now = self.ctx.now_iso()
        comment = redact_text(comment.strip())[:500] if comment and comment.strip() else None
        try:
            cur = c.execute(
                """INSERT INTO ratings (service_key, ticket_id, case_id, assess_number, channel, level, bad, reasons,
                       comment, clerk, window, category, item_code, rated_at, prompt_id, reason_pending)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (svc.key, svc.ticket_id, svc.case_id, assess, channel, level, int(bad), dumps(chosen), comment,
                 svc.clerk, svc.window, svc.category, svc.item_code, now, prompt_id, int(pending)),
            )
        except sqlite3.IntegrityError as exc:   # a concurrent submit won the race
            raise conflict("already_rated", "该服务已评价（一次一评）") from exc
        rating_id = int(cur.lastrowid or 0)
        if prompt_id is not None:
            c.execute("UPDATE rating_prompts SET state = 'rated', closed_at = ?, rating_id = ? WHERE id = ?",
                      (now, rating_id, prompt_id))
        case = None
        if svc.case_id is not None:
            case = c.execute("SELECT receipt_no, official_no FROM cases WHERE id = ?", (svc.case_id,)).fetchone()
        self.ctx.relay(c, "rating", rating_id, 1, svc.order_key, {
            "rating_id": rating_id, "service_key": svc.key, "ticket_id": svc.ticket_id,
            "ticket_number": svc.ticket_number, "case_id": svc.case_id,
            "receipt_no": case["receipt_no"] if case else None, "official_no": case["official_no"] if case else None,
            "item_code": svc.item_code, "item_name": svc.item_name, "category": svc.category,
            "assess_number": assess, "channel": channel, "level": level, "bad": bad, "reasons": chosen,
            "comment": comment, "clerk_id": svc.clerk, "clerk_name": self.ctx.staff_name(svc.clerk),
            "window": svc.window, "rated_at": now,
        })
        self.ctx.audit(c, actor, "rating.submit", svc.key, f"{channel} 第{assess}次")
        rect_id = self._open_rectification(c, rating_id, svc) if bad else None
        return {"rating_id": rating_id, "assess_number": assess, "level": level, "bad": bad,
                "rectification_id": rect_id, "service_key": svc.key}

    def _after(self, result: dict[str, Any], window: int | None, prompt_id: int | None) -> None:
        if prompt_id is not None:
            self.ctx.publish("rating.closed", {"window": window, "prompt_id": prompt_id, "reason": "rated"})
        # No level here: clerk consoles subscribe to the same stream.
        self.ctx.publish("rating.recorded", {"rating_id": result["rating_id"], "window": window})

    def rate_prompt(self, window: int, req: RatingIn, actor: Actor, *, channel: str = "平板",
                    prompt_id: int | None = None, device: bool = False) -> dict[str, Any]:
        """A rating from the window's evaluator (tablet page or keypad) during an open prompt."""
        with self.ctx.db.write() as c:
            p = self._open_prompt(c, window)
            if p is None or (prompt_id is not None and p["id"] != prompt_id):
                raise conflict("no_prompt", "当前没有待评价的服务（请工作人员点击“请评价”后再评价）")
            ticket = self._ticket(c, p["ticket_id"]) if p["ticket_id"] is not None else None
            case_row = (c.execute("SELECT * FROM cases WHERE id = ?", (p["case_id"],)).fetchone()
                        if p["case_id"] is not None else None)
            svc = self._service(c, ticket, case_row)
            result = self._insert(c, svc, channel=channel, level=req.level, reasons=req.reasons,
                                  comment=req.comment, assess=1, prompt_id=int(p["id"]), actor=actor, device=device)
        self._after(result, window, int(p["id"]))
        return result

    def sink(self, window: int, level: str, channel: str, prompt_id: int) -> bool:
        """For evaluator devices: record a key press; False (and nothing stored) outside a valid prompt.

        Runs in the device's worker thread; never raises.
        """
        try:
            req = RatingIn(level=level_name(level))
            self.rate_prompt(window, req, Actor(f"evaluator:{window}", "device"), channel=channel,
                             prompt_id=prompt_id or None, device=True)
            return True
        except (RecordError, ValueError) as exc:
            log.info("evaluator at window %s: press %s ignored: %s", window, level, exc)
            return False
        except Exception:
            log.exception("evaluator at window %s: rating could not be stored", window)
            return False

    def token_view(self, token: str) -> dict[str, Any]:
        """What the phone page shows for a ticket: its services and what can still be rated."""
        ticket_id = self.ticket_of_token(token)
        with self.ctx.db.read() as c:
            held = self._ticket(c, ticket_id)
            t = self._final_ticket(c, ticket_id)
            services = []
            for svc in self._services_of_ticket(c, t):
                rated = self._rated(c, svc.key)
                services.append({"case_id": svc.case_id, "label": svc.item_name or "窗口服务",
                                 "rated": 1 in rated, "can_add": 1 in rated and 2 not in rated})
        return {
            "number": held.number, "date": held.service_date, "window": t.window,
            "clerk_name": self.ctx.staff_name(t.clerk), "servable": t.state in ("serving", "done"),
            "services": services, "levels": list(LEVELS), "bad_levels": sorted(BAD_LEVELS),
            "reasons": self.reasons.public()["rating_reasons"],
        }

    def rate_token(self, token: str, req: RatingIn, actor: Actor, *, channel: str = "二维码",
                   case_id: int | None = None, assess_number: int = 1) -> dict[str, Any]:
        """A rating through the ticket's QR (phone, or the kiosk's scanner): no prompt needed."""
        staff_refused(actor)
        if channel not in ("二维码", "自助终端"):
            raise invalid("扫码评价的渠道只能是“二维码”或“自助终端”")
        if assess_number not in (1, 2):
            raise invalid("评价次数只能是 1（首次）或 2（追加）")
        ticket_id = self.ticket_of_token(token)
        with self.ctx.db.write() as c:
            t = self._final_ticket(c, ticket_id)
            if t.state not in ("serving", "done"):
                raise conflict("not_served", "该号尚未办理，办理后才能评价")
            services = self._services_of_ticket(c, t)
            if case_id is not None:
                svc = next((s for s in services if s.case_id == case_id), None)
                if svc is None:
                    raise not_found(f"该号下的办件 {case_id} ")
            elif len(services) == 1:
                svc = services[0]
            else:
                wanted = [s for s in services if (1 not in self._rated(c, s.key)) == (assess_number == 1)]
                if not wanted:
                    svc = services[0]      # let _insert explain why (already rated / added)
                elif len(wanted) == 1:
                    svc = wanted[0]
                else:
                    raise invalid("该号办理了多项业务，请选择要评价的事项")
            result = self._insert(c, svc, channel=channel, level=req.level, reasons=req.reasons,
                                  comment=req.comment, assess=assess_number, prompt_id=None, actor=actor)
        self._after(result, svc.window, None)
        return result

    # ------------------------------------------------------------------ reading
    def _rating_view(self, r: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": r["id"], "service_key": r["service_key"], "ticket_id": r["ticket_id"], "case_id": r["case_id"],
            "assess_number": r["assess_number"], "channel": r["channel"], "level": r["level"], "bad": bool(r["bad"]),
            "reasons": json.loads(r["reasons"]), "comment": r["comment"], "clerk": r["clerk"],
            "clerk_name": self.ctx.staff_name(r["clerk"]), "window": r["window"], "category": r["category"],
            "item_code": r["item_code"], "rated_at": r["rated_at"],
            "reason_pending": bool(r["reason_pending"]), "reason_completed_at": r["reason_completed_at"],
        }

    def search(self, *, start: str | None = None, end: str | None = None, bad: bool | None = None,
               window: int | None = None, clerk: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        sql = "SELECT * FROM ratings WHERE 1=1"
        args: list[Any] = []
        for cond, val in (("rated_at >= ?", start), ("rated_at < ?", end), ("window = ?", window),
                          ("clerk = ?", clerk)):
            if val is not None:
                sql += f" AND {cond}"
                args.append(val)
        if bad is not None:
            sql += " AND bad = ?"
            args.append(int(bad))
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 5000)))
        with self.ctx.db.read() as c:
            return [self._rating_view(r) for r in c.execute(sql, args)]

    def for_clerk(self, clerk: str, limit: int = 200) -> list[dict[str, Any]]:
        """A clerk's own ratings, only those that are final (given long enough ago)."""
        cutoff = iso(self.ctx.now() - timedelta(minutes=self.ctx.policy.clerk_delay_minutes))
        with self.ctx.db.read() as c:
            rows = c.execute("SELECT * FROM ratings WHERE clerk = ? AND rated_at <= ? ORDER BY id DESC LIMIT ?",
                             (clerk, cutoff, max(1, min(limit, 1000)))).fetchall()
        return [self._rating_view(r) for r in rows]

    def prompt_state(self, window: int) -> dict[str, Any]:
        """For the clerk console: is a prompt open, and did the last one end rated (never the level)."""
        with self.ctx.db.read() as c:
            p = c.execute("SELECT id, state, opened_at, expires_at, closed_at FROM rating_prompts "
                          "WHERE window = ? ORDER BY id DESC LIMIT 1", (window,)).fetchone()
        if p is None:
            return {"window": window, "prompt": None}
        state = p["state"]
        if state == "open" and p["expires_at"] <= self.ctx.now_iso():
            state = "expired"
        return {"window": window, "prompt": {"id": p["id"], "state": state, "opened_at": p["opened_at"],
                                             "expires_at": p["expires_at"], "closed_at": p["closed_at"]}}
