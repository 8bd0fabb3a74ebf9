"""The live event stream: one Server-Sent Events stream per page.

Each stream holds a waitress thread for its life (DESIGN.md §7), so streams
are capped (503 + Retry-After beyond the cap), send a heartbeat comment every
15 s so dead clients are noticed, and end after a while so EventSource
reconnects with Last-Event-ID and the thread is recycled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request, stream_with_context
from hall.events import Event, StreamLimit
from hall.web.errors import error_response
from hall.web.util import services

bp = Blueprint("events", __name__)

HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 600.0


def _sse(kind: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


@bp.get("/api/events")
def events() -> Response | tuple[Response, int]:
    svc = services()
    hub = svc.hub
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or ""
    last_id = int(raw) if raw.isdigit() else None
    scope = request.args.get("scope", "")   # "kiosk" (the plain /kiosk page) or "kiosk:<id>": its card reads
    try:
        hub.open_stream()
    except StreamLimit:
        resp, status = error_response("too_many_streams", "实时连接过多，请稍后重试", 503)
        resp.headers["Retry-After"] = "10"
        return resp, status
    heartbeat = float(current_app.config.get("SSE_HEARTBEAT", HEARTBEAT_SECONDS))
    lifetime = float(current_app.config.get("SSE_LIFETIME", STREAM_SECONDS))

    def generate() -> Iterator[str]:
        nonlocal last_id
        try:
            yield "retry: 3000\n\n"
            if last_id is None or hub.since(last_id)[1]:
                last_id = hub.last_id
                yield _sse("snapshot", svc.engine.snapshot(), last_id)
            end = time.monotonic() + lifetime
            while time.monotonic() < end and not hub.closed:   # a closed hub (shutdown) ends the stream
                # The snapshot took this thread's SQLite connection (~0.6 MB warm): hand it back while the
                # stream waits, or every open page (a hall has ~16) pins one for the stream's whole life.
                svc.db.release()
                batch, gap = hub.wait(last_id, timeout=min(heartbeat, max(0.0, end - time.monotonic())))
                if gap:
                    last_id = hub.last_id
                    yield _sse("snapshot", svc.engine.snapshot(), last_id)
                    continue
                if not batch:
                    yield ": heartbeat\n\n"
                    continue
                for ev in batch:
                    last_id = ev.id
                    if _for_stream(ev, scope):
                        yield _event(ev)
        finally:
            hub.close_stream()

    resp = Response(stream_with_context(generate()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


def _event(ev: Event) -> str:
    if ev.kind == "idcard.read" and "id_hash" in ev.data:
        # the technician page shows the masked read; the keyed hash stays on the server
        return _sse(ev.kind, {k: v for k, v in ev.data.items() if k != "id_hash"}, ev.id)
    return _sse(ev.kind, ev.data, ev.id)


def _for_stream(ev: Event, scope: str) -> bool:
    """A card read goes only to the kiosk whose reader read it (the read id lets that kiosk take a number)."""
    if ev.kind != "card.read":
        return True
    kiosk = ev.data.get("kiosk")
    return scope == (f"kiosk:{kiosk}" if kiosk else "kiosk")
