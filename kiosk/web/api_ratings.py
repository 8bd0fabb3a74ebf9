"""Rating routes: the clerk's 请评价, the window tablet, the phone page, the manager's 整改.

Who may rate: only citizens. Every rating route refuses a request that carries
a staff session ("工作人员不能代替群众评价"); the clerk's own routes never show
a rating's level before it is final.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template_string, request
from hall.records.models import RatingIn
from hall.records.util import RecordError
from hall.web.api_cases import citizen_actor, records, staff_actor
from hall.web.api_pairing import require_tablet_of
from hall.web.api_phone import progress
from hall.web.auth import current_session, on_post, require_role
from hall.web.errors import ApiError
from hall.web.field_errors import validation_error
from hall.web.util import body, int_arg, services
from pydantic import BaseModel, ConfigDict, Field, ValidationError

bp = Blueprint("ratings", __name__)


class PromptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: int | None = None


class TabletRating(RatingIn):
    prompt_id: int | None = None


class TokenRating(RatingIn):
    token: str = Field(min_length=3, max_length=64)
    channel: str = "自助终端"
    case_id: int | None = None
    assess_number: int = Field(default=1, ge=1, le=2)


class StepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, max_length=1000)


class VerifyRequest(StepRequest):
    passed: bool


def _no_staff() -> None:
    if current_session() is not None:
        raise ApiError("staff_cannot_rate", "工作人员不能代替群众评价", 403)


def _window_clerk(n: int) -> None:
    on_post(n)


# ---------------------------------------------------------------------- clerk
@bp.post("/api/windows/<int:n>/rate-prompt")
@require_role("clerk", "manager")
def open_prompt(n: int) -> tuple[Response, int]:
    _window_clerk(n)
    req = body(PromptRequest) if request.data else PromptRequest()
    return jsonify({"prompt": records().ratings.open_prompt(n, staff_actor(), req.case_id)}), 201


@bp.delete("/api/windows/<int:n>/rate-prompt")
@require_role("clerk", "manager")
def cancel_prompt(n: int) -> Response:
    _window_clerk(n)
    return jsonify({"cancelled": records().ratings.cancel_prompt(n, staff_actor())})


@bp.get("/api/windows/<int:n>/rate-prompt")
@require_role("clerk", "manager")
def prompt_state(n: int) -> Response:
    """Whether the window's prompt is open, rated, expired (never the level)."""
    _window_clerk(n)
    return jsonify(records().ratings.prompt_state(n))


@bp.get("/api/ratings/mine")
@require_role("clerk")
def my_ratings() -> Response:
    s = current_session()
    assert s is not None
    return jsonify({"ratings": records().ratings.for_clerk(s.staff_id),
                    "delay_minutes": services().config.records.clerk_delay_minutes})


# ---------------------------------------------------------------------- citizens
@bp.get("/api/reasons")
def reasons() -> Response:
    """差评 reasons and complaint topics, as the tablet, kiosk and phone page offer them."""
    return jsonify(records().reasons.public())


@bp.get("/api/evaluator/<int:n>/prompt")
def tablet_prompt(n: int) -> Response:
    """The window tablet polls this (or listens for rating.prompt): the open prompt or null."""
    if services().config.window(n) is None:
        raise ApiError("unknown_window", f"{n}号窗口不存在", 404)
    return jsonify({"prompt": records().ratings.current_prompt(n)})


@bp.post("/api/evaluator/<int:n>/rating")
def tablet_rating(n: int) -> tuple[Response, int]:
    """A rating from the window tablet; only during an open prompt, never with a staff session."""
    _no_staff()
    require_tablet_of(n)
    req = body(TabletRating)
    result = records().ratings.rate_prompt(n, req, citizen_actor(f"tablet:{n}"), channel="平板",
                                           prompt_id=req.prompt_id)
    return jsonify(_public(result)), 201


@bp.get("/api/ratings/ticket/<token>")
def token_view(token: str) -> Response:
    """What the phone page (or the kiosk after scanning the ticket QR) offers for a ticket."""
    rec = records()
    return jsonify({**rec.ratings.token_view(token), "pending": rec.reason_completion.for_token(token)})


@bp.post("/api/ratings")
def token_rating() -> tuple[Response, int]:
    """A rating by the ticket's QR token: channel 二维码 (phone) or 自助终端 (kiosk)."""
    _no_staff()
    req = body(TokenRating)
    result = records().ratings.rate_token(req.token, req, citizen_actor(req.channel), channel=req.channel,
                                          case_id=req.case_id, assess_number=req.assess_number)
    return jsonify(_public(result)), 201


def _public(result: dict[str, Any]) -> dict[str, Any]:
    msg = "感谢您的评价！"
    if result["bad"]:
        msg += "我们会认真整改，并在规定时间内回复。"
    return {"rating_id": result["rating_id"], "assess_number": result["assess_number"], "message": msg}


# ---------------------------------------------------------------------- manager
@bp.get("/api/ratings")
@require_role("manager")
def list_ratings() -> Response:
    """Ratings in a period (?period=YYYY-MM or YYYY-MM-DD), optionally only 差评 (?bad=1) or one window."""
    rec = records()
    _, _, _, start, end = rec.figures.period(request.args.get("period") or None)
    bad = {"1": True, "true": True, "0": False, "false": False}.get(request.args.get("bad", ""))
    return jsonify({"ratings": rec.ratings.search(start=start, end=end, bad=bad, window=int_arg("window", lo=1),
                                                  clerk=request.args.get("clerk") or None)})


@bp.get("/api/rectifications")
@require_role("manager")
def list_rectifications() -> Response:
    rec = records()
    return jsonify({"rectifications": rec.ratings.rectifications(open_only=request.args.get("open") in ("1", "true")),
                    "reason_pending": rec.reason_completion.count()})


@bp.get("/api/rectifications/<int:rid>")
@require_role("manager")
def get_rectification(rid: int) -> Response:
    return jsonify({"rectification": records().ratings.rectification(rid)})


@bp.post("/api/rectifications/<int:rid>/reply")
@require_role("manager")
def rectification_reply(rid: int) -> Response:
    req = body(StepRequest)
    return jsonify({"rectification": records().ratings.reply(rid, req.text or "", staff_actor())})


@bp.post("/api/rectifications/<int:rid>/verify")
@require_role("manager")
def rectification_verify(rid: int) -> Response:
    req = body(VerifyRequest)
    return jsonify({"rectification": records().ratings.verify(rid, req.passed, req.text, staff_actor())})


@bp.post("/api/rectifications/<int:rid>/close")
@require_role("manager")
def rectification_close(rid: int) -> Response:
    req = body(StepRequest) if request.data else StepRequest()
    return jsonify({"rectification": records().ratings.close(rid, staff_actor(), req.text)})


# ---------------------------------------------------------------------- phone page
_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>服务评价 - {{ hall }}</title>
<style>
body{margin:0;background:#f2f5fa;color:#1a2433;
 font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif}
header{background:#0b3d91;color:#fff;padding:14px 16px;font-size:18px}
main{padding:16px;max-width:560px;margin:auto}
.card{background:#fff;border-radius:10px;padding:16px;margin-bottom:14px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.lv{display:block;margin:8px 0;padding:14px;border:2px solid #c9d4e6;border-radius:8px;font-size:20px}
.lv input{transform:scale(1.4);margin-right:10px}
.rs{display:block;margin:6px 0;font-size:16px}
textarea{width:100%;box-sizing:border-box;font-size:16px;min-height:70px}
button{width:100%;padding:16px;font-size:20px;background:#0b3d91;color:#fff;border:0;border-radius:8px}
.err{color:#b00020;font-weight:bold}.ok{color:#0a7a2f;font-size:20px;font-weight:bold}
.muted{color:#5b6b82;font-size:14px}
.q{text-align:center}.q .num{font-size:44px;font-weight:bold;color:#0b3d91;letter-spacing:2px}
.q .head{font-size:24px;font-weight:bold;margin:10px 0}.q.near .head{color:#b35900}
.q.called{background:#0b3d91;color:#fff}.q.called .num,.q.called .head{color:#ffd54a}
.q.called .muted{color:#e3ebf7}
</style></head><body>
<header>{{ hall }} · 排队进度与评价</header>
<main>
{% if progress %}<div class="card q{{ ' called' if progress.called else '' }}{{ ' near' if progress.near else '' }}"
 id="q" data-testid="progress" data-state="{{ progress.state }}" data-ahead="{{ progress.ahead }}"
 data-servable="{{ 1 if progress.servable else 0 }}" data-poll="{{ progress.poll_seconds }}">
<div class="num" data-testid="progress-number">{{ progress.number }}</div>
<div class="muted" data-testid="progress-category">{{ progress.category_name }}</div>
<div class="head" id="q-head" data-testid="progress-headline" role="status"
 aria-live="polite">{{ progress.headline }}</div>
<div class="muted" id="q-detail" data-testid="progress-detail">{{ progress.detail }}</div>
</div>
<script>
(function(){var q=document.getElementById("q"),url="/api/progress/{{ token }}",last=q.dataset.state,
served=q.dataset.servable==="1",every=parseFloat(q.dataset.poll)*1000||5000,ac=null;
function beep(){try{ac=ac||new (window.AudioContext||window.webkitAudioContext)();var o=ac.createOscillator(),
g=ac.createGain();o.frequency.value=880;g.gain.value=0.2;o.connect(g);g.connect(ac.destination);o.start();
o.stop(ac.currentTime+0.6);}catch(e){}}
document.addEventListener("touchstart",function(){try{ac=ac||new (window.AudioContext||
window.webkitAudioContext)();}catch(e){}},{once:true});
function show(p){q.dataset.state=p.state;q.dataset.ahead=p.ahead;
document.getElementById("q-head").textContent=p.headline;document.getElementById("q-detail").textContent=p.detail;
q.className="card q"+(p.called?" called":"")+(p.near?" near":"");
if(p.state!==last){if(p.called){if(navigator.vibrate)navigator.vibrate([400,200,400]);beep();}
if(p.servable&&!served){location.reload();return;}last=p.state;}}
function poll(){var x=new XMLHttpRequest();x.open("GET",url);x.onload=function(){if(x.status===200){
try{show(JSON.parse(x.responseText));}catch(e){}}setTimeout(poll,every);};x.onerror=function(){setTimeout(poll,every*2);};
x.send();}
if(q.dataset.state!=="done")setTimeout(poll,every);})();
</script>{% endif %}
{% if done %}<div class="card ok">{{ done }}</div>{% endif %}
{% if error %}<div class="card err">{{ error }}</div>{% endif %}
{% for p in pending %}
<form class="card" method="post" data-testid="pending-reason">
<input type="hidden" name="pending_rating" value="{{ p.rating_id }}">
<div><b>您在窗口评价器上选了“{{ p.level }}”，原因待补</b></div>
<p class="muted">请勾选不满意的原因，帮助我们整改：</p>
{% for r in view.reasons %}
<label class="rs"><input type="checkbox" name="reasons" value="{{ r.code }}"> {{ r.text }}</label>
{% endfor %}
<p><textarea name="comment" maxlength="500" placeholder="补充说明（选填）"></textarea></p>
<button type="submit">提交原因</button>
</form>
{% endfor %}
{% if view %}
<div class="card">票号 <b>{{ view.number }}</b>（{{ view.date }}）
{% if view.window %} · {{ view.window }}号窗口{% endif %}
{% if view.clerk_name %} · {{ view.clerk_name }}{% endif %}</div>
{% if not view.servable %}<div class="card muted">办理后即可在此评价；本页会自动更新排队进度。</div>
{% else %}{% for s in view.services %}
<form class="card" method="post">
<div><b>{{ s.label }}</b>{% if s.rated and not s.can_add %}<span class="muted">（已评价）</span>{% endif %}</div>
{% if not s.rated or s.can_add %}
<input type="hidden" name="case_id" value="{{ s.case_id or '' }}">
<input type="hidden" name="assess_number" value="{{ 2 if s.rated else 1 }}">
{% if s.rated %}<p class="muted">您已评价过，可追加评价一次。</p>{% endif %}
{% for lv in view.levels %}
<label class="lv"><input type="radio" name="level" value="{{ lv }}" required>{{ lv }}</label>
{% endfor %}
<p class="muted">选择“不满意”或“非常不满意”时，请至少勾选一项原因：</p>
{% for r in view.reasons %}
<label class="rs"><input type="checkbox" name="reasons" value="{{ r.code }}"> {{ r.text }}</label>
{% endfor %}
<p><textarea name="comment" maxlength="500" placeholder="意见建议（选填）"></textarea></p>
<button type="submit">提交评价</button>
{% endif %}
</form>
{% endfor %}{% endif %}
{% endif %}
<p class="muted">评价内容仅用于改进服务。</p>
</main></body></html>"""


def _page(token: str, *, done: str = "", error: str = "", status: int = 200) -> tuple[str, int]:
    view = prog = None
    pending: list[dict[str, Any]] = []
    try:
        view = records().ratings.token_view(token)
        prog = progress(token)
        pending = records().reason_completion.for_token(token) if view else []
    except RecordError as exc:
        error = error or exc.message
        status = exc.status if status == 200 else status
    return render_template_string(_PAGE, hall=services().config.hall.name, view=view, done=done,
                                  error=error, progress=prog, token=token, pending=pending), status


@bp.get("/r/<token>")
def phone_page(token: str) -> tuple[str, int]:
    """The page the ticket's QR opens on a phone on the hall network (works without JavaScript)."""
    return _page(token)


@bp.post("/r/<token>")
def phone_submit(token: str) -> tuple[str, int]:
    if current_session() is not None:
        return _page(token, error="工作人员不能代替群众评价", status=403)
    f = request.form
    if f.get("pending_rating", "").isdigit():
        try:
            records().reason_completion.complete(int(f["pending_rating"]), f.getlist("reasons"),
                                                 f.get("comment") or None, citizen_actor("phone"), token=token)
        except RecordError as exc:
            return _page(token, error=exc.message, status=exc.status)
        return _page(token, done="感谢您补充原因，我们会认真整改。")
    try:
        req = RatingIn(level=f.get("level", ""), reasons=f.getlist("reasons"), comment=f.get("comment") or None)
        case_raw = f.get("case_id") or ""
        result = records().ratings.rate_token(
            token, req, citizen_actor("phone"), channel="二维码",
            case_id=int(case_raw) if case_raw.isdigit() else None,
            assess_number=2 if f.get("assess_number") == "2" else 1)
    except ValidationError as exc:
        return _page(token, error=validation_error(exc)[0], status=400)
    except RecordError as exc:
        return _page(token, error=exc.message, status=exc.status)
    return _page(token, done=_public(result)["message"])
