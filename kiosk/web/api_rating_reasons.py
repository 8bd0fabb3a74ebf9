"""Completing a keypad 差评's reason (原因待补): from the ticket's QR (phone page, kiosk) or the window tablet.

Only citizens complete a reason: a request with a staff session is refused,
like every rating route.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from hall.web.api_cases import citizen_actor, records
from hall.web.api_pairing import require_tablet_of
from hall.web.api_ratings import _no_staff
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("rating_reasons", __name__)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    rating_id: int = Field(ge=1, le=2**63 - 1)
    reasons: list[str] = Field(min_length=1, max_length=20)
    comment: str | None = Field(default=None, max_length=500)


class TokenReasonIn(ReasonIn):
    token: str = Field(min_length=3, max_length=64)
    channel: str = Field(default="自助终端", pattern=r"^(自助终端|二维码)$")


def _done(result: dict[str, object]) -> Response:
    return jsonify({"rating_id": result["rating_id"], "message": "感谢您补充原因，我们会认真整改。"})


@bp.post("/api/ratings/reason")
def complete_by_token() -> Response:
    """The kiosk's 评价 screen (channel 自助终端) or the phone (二维码) completes the ticket's 原因待补."""
    _no_staff()
    req = body(TokenReasonIn)
    result = records().reason_completion.complete(req.rating_id, req.reasons, req.comment,
                                                  citizen_actor(req.channel), token=req.token)
    return _done(result)


def _window(n: int) -> None:
    if services().config.window(n) is None:
        raise ApiError("unknown_window", f"{n}号窗口不存在", 404)


@bp.get("/api/evaluator/<int:n>/pending-reason")
def tablet_pending(n: int) -> Response:
    """The window tablet asks whether a keypad 差评 here still needs its reason."""
    _window(n)
    return jsonify({"pending": records().reason_completion.at_window(n)})


@bp.post("/api/evaluator/<int:n>/reason")
def tablet_complete(n: int) -> Response:
    _no_staff()
    _window(n)
    require_tablet_of(n)     # only that window's paired tablet (docs/install.md §16)
    req = body(ReasonIn)
    result = records().reason_completion.complete(req.rating_id, req.reasons, req.comment,
                                                  citizen_actor(f"tablet:{n}"), window=n)
    return _done(result)
