"""The live event stream: one Server-Sent Events stream per page.

Each stream holds a waitress thread for its life (DESIGN.md §7), so streams
are capped (503 + Retry-After beyond the cap), send a heartbeat comment every
15 s so dead clients are noticed, and end after a while so EventSource
reconnects with Last-Event-ID and the thread is recycled.

A card read (`card.read`: 张*, an age and the read id a ticket can be taken
with) goes only to a stream opened with the device token of the kiosk whose
reader read it. EventSource cannot send headers, so the kiosk page passes its
token as `?device=`. We chose that over a short-lived stream ticket: the
browser reopens an EventSource by itself with the same URL (every reconnect,
every ~10 min), so a ticket would expire under it and card reads would stop
silently. The token is already in that kiosk's localStorage; it never reaches a
log (no access log is kept, errors log `request.path` only, and
`redact_text` masks `device=` values), and the stream re-checks it on each read
so a revoke on /tech stops the reads at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request, stream_with_context
from hall import pairing
from hall.events import Event, StreamLimit
from hall.pairing import PairedDevice
from hall.web.auth import current_session
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
    token = request.args.get("device", "") if scope.startswith("kiosk") else ""   # the kiosk's pairing token
    session = current_session()
    staff = session is not None and session.role in ("technician", "manager")   # /tech shows raw reader events
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
                    # looked up per read (reads are rare), so a revoke stops the next one
                    device = pairing.device_for_token(svc.db, token) if token and ev.kind == "card.read" else None
                    if _for_stream(ev, scope, device, staff):
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


def _for_stream(ev: Event, scope: str, device: PairedDevice | None, staff: bool = False) -> bool:
    """A card read goes only to the paired kiosk whose reader read it (the read id lets that kiosk take a
    number): anyone on the LAN can open a stream, so the scope alone proves nothing. The plain /kiosk
    page (scope "kiosk") gets the reads of the kiosk it is paired as; a reader bound to no kiosk sends
    none (hall.cardreads). The reader's own event (张*, sex, masked number) goes only to a technician's
    or manager's stream (/tech)."""
    if ev.kind == "idcard.read":
        return staff
    if ev.kind != "card.read":
        return True
    kiosk = ev.data.get("kiosk")
    if not kiosk or device is None or device.kind != "kiosk" or device.kiosk != kiosk:
        return False
    return scope in ("kiosk", f"kiosk:{kiosk}")
