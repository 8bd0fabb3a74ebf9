"""The Flask app factory: wires routes to services built by the composition root."""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify
from hall.memory import QuietTrim, give_back_free_memory
from hall.screens import printout_routes as printout_pages
from hall.screens import routes as screen_pages
from hall.screens import village_routes as village_pages
from hall.services import Services
from hall.web import (
    api_appointments,
    api_audit,
    api_broadcast,
    api_camera,
    api_cards,
    api_cases,
    api_catalog,
    api_devices,
    api_events,
    api_health,
    api_ime,
    api_manage,
    api_notice,
    api_pairing,
    api_phone,
    api_printer,
    api_queue,
    api_rating_reasons,
    api_ratings,
    api_records,
    api_relay,
    api_reports,
    api_session,
    api_staff_photos,
    api_tech,
    api_village,
    origin,
)
from hall.web.errors import register_error_handlers
from hall.web.util import BoundedJSONProvider, Int64Converter

if TYPE_CHECKING:
    from flask.testing import FlaskClient


def openapi_document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(resources.files("hall.web").joinpath("openapi.json").read_text("utf-8"))
    return doc


class _HallFlask(Flask):
    json_provider_class = BoundedJSONProvider   # deep JSON is a 400, not a RecursionError

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> FlaskClient:
        """A client that sends the hall's own `Origin` (hall.web.origin), imported only when a test asks."""
        from hall.web.same_origin_client import SameOriginClient

        return SameOriginClient(self, self.response_class, use_cookies=use_cookies, **kwargs)


def create_app(services: Services, settings: dict[str, Any] | None = None) -> Flask:
    app = _HallFlask(__name__, static_folder=None)
    app.url_map.converters["int"] = Int64Converter  # before any route: ids beyond int64 are 404, not 500
    app.config.update(JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=16 * 1024 * 1024)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.config.update(settings or {})
    app.extensions["hall"] = services
    register_error_handlers(app)

    @app.teardown_request
    def _release_db(exc: BaseException | None) -> None:
        # the request thread's SQLite connection goes back to the pool (see Database.release)
        services.db.release()
    # once the hall has been quiet a while: the rush's extra database connections close, freed heap goes back
    app.before_request(QuietTrim(trim=lambda: (services.db.shrink_idle(), give_back_free_memory())).touch)
    origin.install(app)    # state-changing requests only from the hall's own pages
    api_pairing.install(app)  # which paired device asks (X-Hall-Device), before the audit context
    for bp in (api_health.bp, api_session.bp, api_queue.bp, api_events.bp, api_manage.bp, api_printer.bp):
        app.register_blueprint(bp)
    app.register_blueprint(api_catalog.bp)    # public: the service guide (办事指南) and blank forms
    app.register_blueprint(api_ime.bp)        # public: pinyin candidates for the kiosk's touch keyboard
    app.register_blueprint(api_devices.bp)    # technicians: device states, tests, emulator views
    app.register_blueprint(api_relay.bp)      # technicians: county relay backlog, dead letters, retry
    app.register_blueprint(api_camera.bp)     # document camera: read a QR, scan a page
    app.register_blueprint(api_tech.bp)       # technicians: config check, log tail
    app.register_blueprint(api_pairing.bp)    # paired devices: technicians' codes, devices' tokens
    # records: cases, ratings (incl. the phone page /r/<token>), appointments, complaints, figures
    for bp in (api_cases.bp, api_ratings.bp, api_appointments.bp, api_records.bp):
        app.register_blueprint(bp)
    app.register_blueprint(api_village.bp)    # village stations: agents' 代办 ledger, intake, roster, oversight
    app.register_blueprint(api_reports.bp)    # manager: .xlsx reports (daily, monthly, clerks, ratings, cases)
    app.register_blueprint(api_broadcast.bp)  # hall broadcast: the manager's message to board, LED, voice, kiosk
    app.register_blueprint(api_phone.bp)      # the ticket's phone page: queue progress by the QR token
    app.register_blueprint(api_cards.bp)      # ID cards: what the clerk sees of the served ticket's card
    app.register_blueprint(api_rating_reasons.bp)  # 原因待补: completing a keypad 差评's reason
    app.register_blueprint(api_notice.bp)     # 一次性告知单 slip on the asking kiosk's printer
    app.register_blueprint(api_staff_photos.bp)  # 公示栏: staff photos and the hall's rules text (manager)
    app.register_blueprint(api_audit.bp)      # audit trail: request context for every row, the manager's audit page

    @app.get("/api/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document())

    app.register_blueprint(screen_pages.bp)   # the screens: /kiosk, /board, /clerk, /evaluator/<n>
    app.register_blueprint(printout_pages.bp)  # printable pages: 受理回执, 一次性告知单, the receipt QR's phone page
    app.register_blueprint(village_pages.bp)  # village stations: /agent, /station/<id>, /villages
    return app
