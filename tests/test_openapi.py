"""The OpenAPI document must describe exactly the routes the app serves."""

from __future__ import annotations

import re
from typing import Any

from hall.web.app import openapi_document


def _app_routes(client: Any) -> set[tuple[str, str]]:
    routes = set()
    for rule in client.application.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        if not (path.startswith("/api/") or path == "/healthz"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


def test_openapi_matches_routes(client: Any) -> None:
    doc = openapi_document()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    served = _app_routes(client)
    assert served - documented == set(), "routes missing from openapi.json"
    assert documented - served == set(), "openapi.json documents routes that do not exist"


def test_openapi_served(client: Any) -> None:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.get_json()["openapi"].startswith("3.")
