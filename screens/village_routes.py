"""Pages for the village stations: the agent's page, the public station page, the township's village admin.

- /agent: the village agent's (代办员) page, for a phone (375 px wide and up) and for the village PC;
  it asks for the agent's login and keeps unsent requests on the device (static/js/agent_drafts.js).
- /station and /station/<village_id>: the public page of a village service station (who the agents
  are and how to reach them, who is on duty today), for a screen at the village office or a phone.
- /villages: a plain admin page for the township manager (villages, agents, oversight, spot checks).

The pages use the shared screens frame (templates/base.html, static/css/theme.css, static/js/ui.js);
their text is in static/i18n/<screen>.js. Templates and assets live with the other screens.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort
from hall.screens.routes import hall_facts, render_page
from hall.web.util import services

bp = Blueprint("village_screens", __name__)

# A village device reads only these hall facts: no staff list, windows or queue settings leave the hall.
VILLAGE_FACTS = ("hall", "timezone", "demo")


def _page(template: str, screen: str, **settings: Any) -> str:
    facts = hall_facts(services().config)
    return render_page(template, screen, {key: facts[key] for key in VILLAGE_FACTS}, settings)


@bp.get("/agent")
def agent() -> str:
    return _page("agent.html", "agent")


@bp.get("/station")
def stations() -> str:
    return _page("station.html", "station", village_id=None)


@bp.get("/station/<int:village_id>")
def station(village_id: int) -> str:
    svc = services().village
    if svc is None:
        abort(404)
    row = svc.db.conn.execute("SELECT active FROM villages WHERE id = ?", (village_id,)).fetchone()
    if row is None or not row[0]:
        abort(404)
    return _page("station.html", "station", village_id=village_id)


@bp.get("/villages")
def villages() -> str:
    return _page("villages.html", "villages")
