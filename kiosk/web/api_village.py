"""Village station routes: agents' 代办 ledger, the township's intake and oversight, the public station page.

Who may do what:
- an agent (role "agent", signed in with POST /api/village/session) reads and changes only
  the records, photos and duty roster of the village in their session; the village is
  taken from the session on the server, never from the request;
- clerks see incoming 代办, receive them (接件), send them back or register a case;
- the manager administers villages and agents and oversees all villages;
- the station page's data (names and phones of the agents, today's duty) is public.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file
from hall.store.audit_chain import update_context
from hall.village.base import Who
from hall.village.models import (
    AgentIn,
    AgentLogin,
    AgentUpdate,
    DutyIn,
    NoteIn,
    RecordIn,
    RecordUpdate,
    ReturnIn,
    RotateIn,
    SettingsIn,
    SpotCheckIn,
    SpotPickIn,
    StateIn,
    VillageIn,
    VillageUpdate,
)
from hall.village.photos import MAX_UPLOAD_BYTES
from hall.village.service import VillageService
from hall.web.api_audit import audit_staff_action
from hall.web.auth import current_session, open_session, require_role
from hall.web.errors import ApiError
from hall.web.util import body, date_arg, enabled, int_arg, services

bp = Blueprint("village", __name__)

STAFF = ("clerk", "manager")
_KEY_RE = re.compile(r"^[0-9A-Za-z_-]{8,64}$")


def village() -> VillageService:
    return enabled(services().village, "村便民服务站功能")


def who() -> Who:
    s = current_session()
    assert s is not None  # require_role ran first
    if s.role == "agent" and s.village_id is None:
        raise ApiError("forbidden", "代办员账号未绑定村（社区）", 403)
    return Who(
        s.staff_id,
        s.name,
        s.role,
        s.village_id if s.role == "agent" else None,
        s.window,
        request.remote_addr or "",
    )




def _month_arg() -> str | None:
    month = request.args.get("month") or None
    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ApiError("invalid", "参数 month 须为 YYYY-MM", 400)
    return month


def _csv(text: str, filename: str) -> Response:
    audit_staff_action("export", filename, {"rows": max(0, text.count("\n") - 1)})
    resp = Response(text, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


# ---------------------------------------------------------------------- agent sign-in
@bp.post("/api/village/session")
def agent_login() -> tuple[Response, int]:
    req = body(AgentLogin)
    svc = services()
    agent = village().login(svc.sessions, req.login, req.pin, request.remote_addr or "")
    update_context(role="agent")
    return open_session(agent, None)


@bp.get("/api/village/me")
@require_role("agent")
def agent_me() -> Response:
    return jsonify(village().me(who()))


# ---------------------------------------------------------------------- public: station pages
@bp.get("/api/village/stations")
def stations() -> Response:
    return jsonify(
        {
            "stations": [
                {"id": v["id"], "name": v["name"], "station_name": v["station_name"]}
                for v in village().directory.villages(active_only=True)
            ]
        }
    )


@bp.get("/api/village/stations/<int:village_id>")
def station(village_id: int) -> Response:
    return jsonify(village().station(village_id))


# ---------------------------------------------------------------------- manager: villages and agents
# dup-ok: list/add/update routes of villages, agents (and api_manage.py notices): one per URL
@bp.get("/api/village/villages")
@require_role("manager")
def list_villages() -> Response:
    return jsonify({"villages": village().directory.villages()})


@bp.post("/api/village/villages")
@require_role("manager")
def add_village() -> tuple[Response, int]:
    return jsonify({"village": village().directory.add_village(body(VillageIn), who())}), 201


@bp.patch("/api/village/villages/<int:village_id>")
@require_role("manager")
def update_village(village_id: int) -> Response:
    return jsonify({"village": village().directory.update_village(village_id, body(VillageUpdate), who())})


@bp.get("/api/village/agents")
@require_role("manager")
def list_agents() -> Response:
    return jsonify({"agents": village().directory.agents(int_arg("village_id", lo=1))})


# dup-ok: add/update agent, shaped like add/update village above
@bp.post("/api/village/agents")
@require_role("manager")
def add_agent() -> tuple[Response, int]:
    return jsonify({"agent": village().directory.add_agent(body(AgentIn), who())}), 201


@bp.patch("/api/village/agents/<int:agent_id>")
@require_role("manager")
def update_agent(agent_id: int) -> Response:
    return jsonify({"agent": village().directory.update_agent(agent_id, body(AgentUpdate), who())})


@bp.get("/api/village/settings")
@require_role("manager")
def get_settings() -> Response:
    return jsonify(village().oversight.settings())


@bp.put("/api/village/settings")
@require_role("manager")
def put_settings() -> Response:
    req = body(SettingsIn)
    changes = {k: v for k, v in req.model_dump().items() if v is not None}
    return jsonify(village().oversight.set_settings(changes, who()))


# ---------------------------------------------------------------------- the ledger
def _filters() -> dict[str, Any]:
    return {
        "village_id": int_arg("village_id", lo=1),
        "state": request.args.get("state") or None,
        "kind": request.args.get("kind") or None,
        "start": date_arg("start"),
        "end": date_arg("end"),
        "overdue": request.args.get("overdue") in ("1", "true"),
    }


@bp.get("/api/village/records")
@require_role("agent", *STAFF)
def list_records() -> Response:
    """An agent's own village (always); staff any village (?village_id) or all."""
    limit = int_arg("limit", lo=1, hi=1000) or 200
    return jsonify({"records": village().ledger.search(who(), limit=limit, **_filters())})


@bp.get("/api/village/records/export")
@require_role("agent", "manager")
def export_records() -> Response:
    """The ledger as CSV (masked), with the same filters as the list."""
    w = who()
    text = village().ledger.export_csv(w, **_filters())
    scope = f"v{w.scope}" if w.scope is not None else "all"
    return _csv(text, f"village-ledger-{scope}-{services().clock.today():%Y%m%d}.csv")


@bp.post("/api/village/records")
@require_role("agent")
def register_record() -> tuple[Response, int]:
    """Register a 代办; the device's client_key makes a resubmission return the same record (200)."""
    view, created = village().ledger.register(body(RecordIn), who())
    return jsonify({"record": view, "created": created}), 201 if created else 200


@bp.get("/api/village/records/<int:record_id>")
@require_role("agent", *STAFF)
def get_record(record_id: int) -> Response:
    return jsonify({"record": village().ledger.get(record_id, who())})


@bp.patch("/api/village/records/<int:record_id>")
@require_role("agent")
def update_record(record_id: int) -> Response:
    return jsonify({"record": village().ledger.update(record_id, body(RecordUpdate), who())})


@bp.post("/api/village/records/<int:record_id>/state")
@require_role("agent")
def move_record(record_id: int) -> Response:
    req = body(StateIn)
    return jsonify({"record": village().ledger.move(record_id, req.state, who(), req.note)})


@bp.post("/api/village/records/<int:record_id>/photos")
@require_role("agent")
def add_photo(record_id: int) -> tuple[Response, int]:
    """A photo of a material (multipart: file, client_key, material); idempotent on client_key."""
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES + 64 * 1024:
        raise ApiError(
            "too_large", f"照片过大（超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB），请重新拍摄", 413
        )
    f = request.files.get("file")
    if f is None:
        raise ApiError("invalid", "请选择要上传的照片（表单字段 file）", 400)
    key = request.form.get("client_key", "")
    if not _KEY_RE.match(key):
        raise ApiError("invalid", "参数 client_key 无效（8–64 位字母、数字、- 或 _）", 400)
    material = request.form.get("material", "").strip()[:100]
    data = f.read(MAX_UPLOAD_BYTES + 1)
    photo, created = village().ledger.add_photo(record_id, who(), key, material, data)
    return jsonify({"photo": photo, "created": created}), 201 if created else 200


@bp.get("/api/village/records/<int:record_id>/photos/<int:photo_id>")
@require_role("agent", *STAFF)
def get_photo(record_id: int, photo_id: int) -> Response:
    path = village().ledger.photo_file(record_id, photo_id, who())
    resp = send_file(path, mimetype="image/jpeg", max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.delete("/api/village/records/<int:record_id>/photos/<int:photo_id>")
@require_role("agent")
def delete_photo(record_id: int, photo_id: int) -> Response:
    village().ledger.delete_photo(record_id, photo_id, who())
    return jsonify({"ok": True})


# ---------------------------------------------------------------------- township intake
@bp.get("/api/village/incoming")
@require_role(*STAFF)
def incoming() -> Response:
    """代办 handed over by the villages and not yet received, or received and still without a case."""
    return jsonify({"records": village().ledger.incoming(who())})


@bp.post("/api/village/records/<int:record_id>/receive")
@require_role(*STAFF)
def receive(record_id: int) -> Response:
    req = body(NoteIn) if request.is_json else NoteIn()
    return jsonify({"record": village().ledger.receive(record_id, who(), req.note)})


@bp.post("/api/village/records/<int:record_id>/return")
@require_role(*STAFF)
def send_back(record_id: int) -> Response:
    req = body(ReturnIn)
    return jsonify({"record": village().ledger.send_back(record_id, who(), req.note)})


@bp.post("/api/village/records/<int:record_id>/case")
@require_role(*STAFF)
def make_case(record_id: int) -> tuple[Response, int]:
    req = body(NoteIn) if request.is_json else NoteIn()
    return jsonify(village().ledger.make_case(record_id, who(), req.note)), 201


# ---------------------------------------------------------------------- duty roster
@bp.get("/api/village/roster")
@require_role("agent", *STAFF)
def roster() -> Response:
    today = services().clock.today()
    start = date_arg("start", today) or today
    end = date_arg("end", start + timedelta(days=13)) or start
    return jsonify({"days": village().roster.days(who(), int_arg("village_id", lo=1), start, end)})


@bp.put("/api/village/roster")
@require_role("agent", "manager")
def set_duty() -> Response:
    req = body(DutyIn)
    return jsonify(village().roster.set_day(who(), req.village_id, req.day, req.agent_id, req.note))


@bp.post("/api/village/roster/rotate")
@require_role("agent", "manager")
def rotate_duty() -> Response:
    req = body(RotateIn)
    return jsonify(
        {
            "days": village().roster.rotate(
                who(), req.village_id, req.start, req.end, req.agent_ids, req.overwrite
            )
        }
    )


@bp.get("/api/village/duty-gaps")
@require_role("manager")
def duty_gaps() -> Response:
    """Working days without anyone on duty, per village (default: 1st of this month to 2 weeks ahead)."""
    today = services().clock.today()
    start = date_arg("start", today.replace(day=1)) or today
    end = date_arg("end", today + timedelta(days=14)) or today
    return jsonify(
        {"start": start.isoformat(), "end": end.isoformat(), "villages": village().roster.gaps(start, end)}
    )


# ---------------------------------------------------------------------- oversight
@bp.get("/api/village/oversight")
@require_role("manager")
def oversight() -> Response:
    return jsonify(village().oversight.overview(who(), _month_arg()))


@bp.get("/api/village/oversight/monthly")
@require_role("manager")
def monthly() -> Response:
    """The monthly village table for the annual assessment (目标责任制考核); ?format=csv for Excel."""
    ov = village().oversight
    month = _month_arg()
    if request.args.get("format") == "csv":
        text, m = ov.monthly_csv(month, services().config.hall.name)
        return _csv(text, f"village-month-{m}.csv")
    return jsonify(ov.monthly_table(month or f"{services().clock.today():%Y-%m}"))


@bp.get("/api/village/spot-checks")
@require_role("manager")
def spot_checks() -> Response:
    return jsonify({"checks": village().oversight.spot_checks(_month_arg())})


@bp.post("/api/village/spot-checks")
@require_role("manager")
def pick_spot_checks() -> tuple[Response, int]:
    req = body(SpotPickIn)
    return jsonify({"checks": village().oversight.pick(who(), req.count, req.village_id, req.month)}), 201


@bp.post("/api/village/spot-checks/<int:check_id>")
@require_role("manager")
def record_spot_check(check_id: int) -> Response:
    req = body(SpotCheckIn)
    return jsonify({"check": village().oversight.check(check_id, req.result, req.finding, who())})
