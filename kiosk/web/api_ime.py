"""Pinyin candidates for the kiosk's touch keyboard (public, read-only, cacheable).

The word list stays on the service (1.8 MB SQLite, read through an index) rather than
shipping to the page: the kiosk loads nothing extra until someone types, and one tap
costs one small GET that the browser may cache for a day (the list changes only with
a new release).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from hall.ime.candidates import MAX_CANDIDATES, clean, lexicon
from hall.web.errors import ApiError
from hall.web.util import int_arg

bp = Blueprint("ime", __name__)

MAX_TYPED = 60


@bp.get("/api/ime/candidates")
def ime_candidates() -> Response:
    typed = request.args.get("q", "")
    if len(typed) > MAX_TYPED:
        raise ApiError("invalid", f"拼音不能超过 {MAX_TYPED} 个字母", 400)
    offset = int_arg("offset", lo=0, hi=MAX_CANDIDATES) or 0
    limit = int_arg("limit", lo=1, hi=30) or 8
    letters = clean(typed)
    page, more = lexicon().candidates(letters, offset=offset, limit=limit)
    resp = jsonify({"q": letters, "offset": offset, "more": more, "candidates": [c.as_dict() for c in page]})
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp
