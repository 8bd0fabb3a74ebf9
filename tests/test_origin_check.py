"""Every state-changing route refuses requests from foreign pages (issue 10, item 2).

The routes come from the app's URL map, so a route added later is covered
without touching this file.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from hall.web.origin import SAFE_METHODS, origin_of

from tests.conftest import login

_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _url(rule: str) -> str:
    def value(m: re.Match[str]) -> str:
        conv = m.group(1) or "string"
        return {"int": "1", "float": "1.0", "path": "x/y"}.get(conv, "x")
    return _ARG.sub(value, rule)


def _state_changing(client: Any) -> list[tuple[str, str]]:
    out = []
    for rule in client.application.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - SAFE_METHODS):
            out.append((method, _url(rule.rule)))
    return sorted(out)


def test_the_url_map_has_state_changing_routes_to_check(client: Any) -> None:
    routes = _state_changing(client)
    assert len(routes) > 40 and ("POST", "/api/windows/1/call") in routes and ("DELETE", "/api/session") in routes


@pytest.mark.parametrize("attack", ["foreign_origin", "null_origin", "other_port", "foreign_referer", "no_origin"])
def test_every_state_changing_route_refuses_a_foreign_page(client: Any, attack: str) -> None:
    login(client, "9001", "hall-8888", None)       # the manager's cookie: the widest rights
    plain = FlaskClient(client.application, client.application.response_class, use_cookies=True)
    plain._cookies = client._cookies                # same cookie jar, but no Origin sent by default
    headers = {"foreign_origin": {"Origin": "http://evil.example"},
               "null_origin": {"Origin": "null"},
               "other_port": {"Origin": "http://localhost:8081"},
               "foreign_referer": {"Referer": "http://192.168.1.66/page.html"},
               "no_origin": {}}[attack]
    refused = []
    for method, url in _state_changing(client):
        r = plain.open(url, method=method, headers=headers, data="a=1",
                       content_type="application/x-www-form-urlencoded")
        body = r.get_json(silent=True) or {}
        if r.status_code == 403 and body.get("error", {}).get("code") in ("foreign_origin", "origin_required"):
            refused.append((method, url))
        else:
            pytest.fail(f"{method} {url} answered {r.status_code} {body} to {attack}")
    assert refused and "已拒绝" in body["error"]["message"]


def test_anonymous_foreign_pages_are_refused_too_and_own_pages_pass(client: Any) -> None:
    r = client.post("/api/tickets", json={"category": "A"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "其他网页" in r.get_json()["error"]["message"]
    assert client.post("/api/tickets", json={"category": "A"}).status_code == 201      # Origin: the hall itself
    plain = FlaskClient(client.application, client.application.response_class)
    r = plain.post("/api/tickets", json={"category": "A"}, headers={"Referer": "http://localhost/kiosk"})
    assert r.status_code == 201                     # older pages: the Referer names the hall


def test_programs_without_a_browser_use_a_bearer_token(client: Any) -> None:
    token = login(client, "1001", "123456", 1)
    plain = FlaskClient(client.application, client.application.response_class)
    client.post("/api/tickets", json={"category": "A"})
    r = plain.post("/api/windows/1/call", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.get_json()["ticket"]["number"] == "A001"
    # the same token in a cookie without Origin is what a forged form would send: refused
    plain.set_cookie("hall_session", token)
    r = plain.post("/api/windows/1/recall")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "origin_required"


def test_origin_of_normalises() -> None:
    assert origin_of("http://Hall.local:80/x?y") == "http://hall.local"
    assert origin_of("https://10.0.0.5:8443/") == "https://10.0.0.5:8443"
    assert origin_of("http://[fe80::1]:8080/a") == "http://[fe80::1]:8080"
    assert origin_of("null") is None and origin_of("file:///c:/x.html") is None
    assert origin_of("http://a:99999/") is None
