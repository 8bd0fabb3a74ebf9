"""Pages for the hall's screens: kiosk touchscreen, TV board, clerk console, evaluator tablet,
and the manager's and technician's pages.

Every page is a small HTML shell (templates/) plus plain ES modules and CSS
(static/); the shell carries the hall's public facts as JSON so a page can draw
itself before the first API answer. Nothing is fetched from outside the hall:
no CDN, no web fonts. User-facing text lives in static/i18n/<screen>.js.

Pages expose no staff action by themselves: the clerk console asks for a
clerk login, and the kiosk, board and evaluator only call citizen endpoints.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from hall.config.schema import HallConfig
from hall.netaddr import public_link
from hall.web.util import services

# resolve(): in the strict editable install this file is a symlink; static files
# and templates are read from the real folder so new assets need no re-install.
_HERE = Path(__file__).resolve().parent

bp = Blueprint(
    "screens", __name__,
    static_folder=str(_HERE / "static"), static_url_path="/screens/static",
    template_folder=str(_HERE / "templates"),
)

IDLE_DEFAULT = 90          # kiosk: seconds without a touch before going home
IDLE_MIN, IDLE_MAX = 2, 3600
QR_MAX_CHARS = 600


def _idle_seconds(default: int) -> int:
    raw = request.args.get("idle", "")
    if raw.isdigit():
        return max(IDLE_MIN, min(IDLE_MAX, int(raw)))
    return default


def hall_facts(config: HallConfig) -> dict[str, Any]:
    """What any screen may show about the hall: names, windows, staff on the public board.

    Staff PIN hashes and roles other than clerk never leave the server.
    """
    return {
        "hall": config.hall.name,
        "timezone": config.hall.timezone,
        "categories": [{"prefix": c.prefix, "name": c.name} for c in config.categories],
        "windows": [
            {"number": w.number, "name": w.name or f"{w.number}号窗口", "categories": list(w.categories),
             "primary": w.primary}
            for w in config.windows
        ],
        "staff": [
            {"id": s.id, "name": s.name, "post": s.post, "duties": s.duties, "windows": list(s.windows)}
            for s in config.staff if s.role == "clerk"
        ],
        "recall_limit": config.queue.recall_limit,
        "pause_reasons": [r.model_dump() for r in config.queue.pause_reasons],
        "demo": config.server.demo,
    }


def render_page(template: str, screen: str, facts: dict[str, Any], settings: dict[str, Any]) -> str:
    """The page shell with its facts in the page-data block; the facts given are all a page may read."""
    page = {**facts, "screen": screen, "settings": settings}
    return render_template(template, page=page, screen=screen, hall=facts["hall"])


def _page(template: str, screen: str, **settings: Any) -> str:
    return render_page(template, screen, hall_facts(services().config), settings)


@bp.get("/")
def index() -> str:
    return _page("index.html", "index")


@bp.get("/kiosk")
def kiosk() -> str:
    """The kiosk without a terminal id: its tickets go to the hall's default printer."""
    cfg = services().config
    assigned = {k.idcard for k in cfg.kiosks}
    reader = any(d.kind == "idcard" and d.window is None and d.name not in assigned for d in cfg.devices)
    return _page("kiosk.html", "kiosk", idle=_idle_seconds(IDLE_DEFAULT),
                 camera=request.args.get("camera", "1") != "0", kiosk=None, kiosk_name=None, idcard=reader,
                 large=cfg.kiosk_large_mode(None))


@bp.get("/kiosk/<kiosk_id>")
def kiosk_terminal(kiosk_id: str) -> str:
    """A named kiosk terminal ([[kiosks]]): its tickets and slips come out of its own printer."""
    k = services().config.kiosk(kiosk_id)
    if k is None:
        abort(404)
    return _page("kiosk.html", "kiosk", idle=_idle_seconds(IDLE_DEFAULT),
                 camera=request.args.get("camera", "1") != "0", kiosk=k.id, kiosk_name=k.name,
                 idcard=k.idcard is not None, large=services().config.kiosk_large_mode(k.id))


@bp.get("/board")
def board() -> str:
    return _page("board.html", "board", chime=request.args.get("chime", "1") != "0")


@bp.get("/clerk")
def clerk() -> str:
    window = request.args.get("window", "")
    return _page("clerk.html", "clerk", window=int(window) if window.isdigit() else None)


@bp.get("/evaluator/<int:window>")
def evaluator(window: int) -> str:
    if services().config.window(window) is None:
        abort(404)
    return _page("evaluator.html", "evaluator", window=window, idle=_idle_seconds(60))


@bp.get("/manager")
def manager() -> str:
    """The hall manager's page; it shows a login until a manager signs in (the APIs check the role)."""
    return _page("manager.html", "manager")


@bp.get("/manager/report")
def manager_report() -> str:
    """一月一通报 as a printable page (?month=YYYY-MM); its data needs a manager session."""
    month = request.args.get("month", "")
    return _page("manager_report.html", "manager_report",
                 month=month if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month) else None)


@bp.get("/tech")
def tech() -> str:
    """The technician's page; it shows a login until a technician signs in (the APIs check the role)."""
    return _page("tech.html", "tech")


@bp.get("/screens/qr.svg")
def qr_svg() -> Response:
    """A QR code as SVG, drawn here so screens need no QR library and no internet.

    `?path=/station/3` encodes that page at the hall's public address: a phone scans it, so it must
    not carry the address the showing browser happened to use (127.0.0.1 on the hall PC itself).
    """
    import qrcode
    import qrcode.image.svg

    path = request.args.get("path", "")
    if path and (not path.startswith("/") or path.startswith("//")):
        abort(400)
    text = public_link(services().config.server, path) if path else request.args.get("text", "")
    if not text or len(text) > QR_MAX_CHARS:
        abort(400)
    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2,
                      error_correction=qrcode.constants.ERROR_CORRECT_M)
    buf = io.BytesIO()
    img.save(buf)
    resp = Response(buf.getvalue(), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp
