"""Paired devices (issue 10, item 4): the attacks refused, through the real HTTP routes.

"Any host can submit the rating while a window's prompt is open; any kiosk can
reprint any recent ticket by its sequential id."
"""

from __future__ import annotations

from typing import Any

from tests.conftest import login, pair_device


def _bare(client: Any) -> Any:
    return client.application.test_client(use_cookies=False)


def _tech(client: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(_bare(client), '9101', 'tech-6666', window=None)}"}


def _open_prompt(client: Any, window: int) -> None:
    api = _bare(client)
    clerk = {"Authorization": f"Bearer {login(api, '1001', '123456', window=window)}"}
    api.post("/api/tickets", json={"category": "A"})
    assert api.post(f"/api/windows/{window}/call", headers=clerk).status_code == 200
    assert api.post(f"/api/windows/{window}/start", headers=clerk).status_code == 200
    r = api.post(f"/api/windows/{window}/rate-prompt", headers=clerk, json={})
    assert r.status_code == 201, r.get_json()


def test_code_pairs_once_and_names_the_device_in_audit(client: Any, services: Any) -> None:
    api = _bare(client)
    made = api.post("/api/tech/pairings", json={"kind": "evaluator", "window": 1}, headers=_tech(client))
    assert made.status_code == 201
    code = made.get_json()["code"]
    assert len(code) == 6 and code.isdigit()
    r = api.post("/api/pairing", json={"code": code})
    assert r.status_code == 201
    token = r.get_json()["token"]
    assert len(token) >= 40 and r.get_json()["window"] == 1
    assert api.post("/api/pairing", json={"code": code}).status_code == 403      # one-time
    with services.db.read() as c:
        stored = [row for row in c.execute("SELECT code_hash, token_hash FROM device_pairings")]
        assert all(token not in str(row) and code not in str(row) for row in stored)   # hashes only
        rows = c.execute("SELECT action, device FROM audit WHERE action LIKE 'pairing.%'").fetchall()
    assert [r[0] for r in rows] == ["pairing.code", "pairing.paired"]
    assert rows[1][1] == "1号窗口评价器"                 # the paired device, not its browser
    listed = api.get("/api/tech/pairings", headers=_tech(client)).get_json()["pairings"]
    assert listed[0]["state"] == "paired" and listed[0]["name"] == "1号窗口评价器"


def test_wrong_expired_and_guessing(client: Any, services: Any, monkeypatch: Any) -> None:
    api = _bare(client)
    code = api.post("/api/tech/pairings", json={"kind": "kiosk", "kiosk": "k1"},
                    headers=_tech(client)).get_json()["code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        r = api.post("/api/pairing", json={"code": wrong})
        assert r.status_code == 403 and "配对码" in r.get_json()["error"]["message"]
    # five wrong tries spent the live code: the right one no longer pairs
    assert api.post("/api/pairing", json={"code": code}).status_code == 403
    # a sixth..tenth guess from this address, then the address is throttled
    for _ in range(5):
        api.post("/api/pairing", json={"code": wrong})
    assert api.post("/api/pairing", json={"code": wrong}).status_code == 429
    assert api.post("/api/pairing", json={"code": "12ab56"}).status_code == 400


def test_expired_code_is_refused(client: Any, monkeypatch: Any) -> None:
    from hall import pairing

    api = _bare(client)
    code = api.post("/api/tech/pairings", json={"kind": "evaluator", "window": 2},
                    headers=_tech(client)).get_json()["code"]
    real = pairing.time.time
    monkeypatch.setattr(pairing.time, "time", lambda: real() + pairing.CODE_MINUTES * 60 + 1)
    r = api.post("/api/pairing", json={"code": code})
    assert r.status_code == 410 and "过期" in r.get_json()["error"]["message"]


def test_only_technicians_make_codes(client: Any) -> None:
    api = _bare(client)
    assert api.post("/api/tech/pairings", json={"kind": "evaluator", "window": 1}).status_code == 401
    clerk = {"Authorization": f"Bearer {login(api, '1001', '123456', window=1)}"}
    assert api.post("/api/tech/pairings", json={"kind": "evaluator", "window": 1}, headers=clerk).status_code == 403
    assert api.post("/api/tech/pairings", json={"kind": "evaluator", "window": 99},
                    headers=_tech(client)).status_code == 404


def test_rating_only_from_that_windows_tablet_and_revoke(client: Any) -> None:
    api = _bare(client)
    _open_prompt(client, 1)
    other = pair_device(client, window=2)
    r = api.post("/api/evaluator/1/rating", json={"level": "不满意", "reasons": ["R04"]})
    assert r.status_code == 403 and "配对" in r.get_json()["error"]["message"]             # any host
    assert api.post("/api/evaluator/1/rating", json={"level": "满意"}, headers=other).status_code == 403
    assert api.post("/api/evaluator/1/rating", json={"level": "满意"},
                    headers={"X-Hall-Device": "forged"}).status_code == 403
    mine = pair_device(client, window=1)
    listed = api.get("/api/tech/pairings", headers=_tech(client)).get_json()["pairings"]
    pid = next(p["id"] for p in listed if p["window"] == 1)
    assert api.post(f"/api/tech/pairings/{pid}/revoke", headers=_tech(client)).status_code == 200
    assert api.post("/api/evaluator/1/rating", json={"level": "满意"}, headers=mine).status_code == 403
    again = pair_device(client, window=1)
    assert api.post("/api/evaluator/1/rating", json={"level": "满意"}, headers=again).status_code == 201


def test_reprint_only_from_issuing_kiosk_within_minutes(client: Any, clock: Any, services: Any) -> None:
    api = _bare(client)
    k1, k2 = pair_device(client, kiosk="k1"), pair_device(client, kiosk="k2")
    t = api.post("/api/tickets", json={"category": "A", "kiosk": "k1"}, headers=k1).get_json()
    tid = t["ticket"]["id"]
    assert api.post(f"/api/tickets/{tid}/reprint").status_code == 403                  # unpaired host
    r = api.post(f"/api/tickets/{tid}/reprint", headers=k2)                             # another kiosk
    assert r.status_code == 403 and "取号" in r.get_json()["error"]["message"]
    assert api.post(f"/api/tickets/{tid}/reprint", headers=k1).status_code in (202, 503)
    clock.advance(minutes=6)
    assert api.post(f"/api/tickets/{tid}/reprint", headers=k1).status_code == 403      # too late


def test_code_typed_on_the_wrong_device_is_refused_and_stays_usable(client: Any) -> None:
    api = _bare(client)
    code = api.post("/api/tech/pairings", json={"kind": "evaluator", "window": 3},
                    headers=_tech(client)).get_json()["code"]
    r = api.post("/api/pairing", json={"code": code, "kind": "evaluator", "window": 2})
    assert r.status_code == 409 and "3号窗口评价器" in r.get_json()["error"]["message"]
    r = api.post("/api/pairing", json={"code": code, "kind": "evaluator", "window": 3})
    assert r.status_code == 201 and r.get_json()["window"] == 3


def test_device_me_answers_until_revoked_and_revoke_is_announced(client: Any, services: Any) -> None:
    api = _bare(client)
    assert api.get("/api/pairing/me").get_json() == {"paired": False, "refused": False}
    assert api.get("/api/pairing/me", headers={"X-Hall-Device": "x" * 43}).get_json() == {"paired": False,
                                                                                         "refused": True}
    mine = pair_device(client, kiosk="k2")
    me = api.get("/api/pairing/me", headers=mine).get_json()
    assert me["kind"] == "kiosk" and me["kiosk"] == "k2"
    row = next(p for p in api.get("/api/tech/pairings", headers=_tech(client)).get_json()["pairings"]
               if p["kiosk"] == "k2" and p["state"] == "paired")
    assert row["last_seen"] and row["created_by"] == "9101"
    seen = services.hub.last_id
    assert api.post(f"/api/tech/pairings/{row['id']}/revoke", headers=_tech(client)).status_code == 200
    events, _gap = services.hub.since(seen)
    assert any(e.kind == "device.revoked" and e.data["id"] == row["id"] for e in events)
    assert api.get("/api/pairing/me", headers=mine).get_json()["refused"] is True
    with services.db.read() as c:
        audited = c.execute("SELECT action, device FROM audit WHERE action = 'pairing.revoke'").fetchall()
    assert audited and audited[-1][0] == "pairing.revoke"


def test_audit_rows_name_the_paired_device(client: Any, services: Any) -> None:
    api = _bare(client)
    _open_prompt(client, 1)
    tablet = pair_device(client, window=1)
    r = api.post("/api/evaluator/1/rating", json={"level": "满意"}, headers={**tablet, "User-Agent": "Tablet/1"})
    assert r.status_code == 201, r.get_json()
    with services.db.read() as c:
        actions = [r[0] for r in c.execute("SELECT action FROM audit WHERE device = '1号窗口评价器'")]
    assert actions, "no audit row names the paired tablet"


def test_reprint_window_comes_from_config(client: Any, clock: Any, services: Any, monkeypatch: Any) -> None:
    api = _bare(client)
    cfg = services.config
    monkeypatch.setattr(services, "config", cfg.model_copy(
        update={"security": cfg.security.model_copy(update={"reprint_minutes": 2})}))
    k1 = pair_device(client, kiosk="k1")
    tid = api.post("/api/tickets", json={"category": "B", "kiosk": "k1"}, headers=k1).get_json()["ticket"]["id"]
    clock.advance(minutes=3)
    r = api.post(f"/api/tickets/{tid}/reprint", headers=k1)
    assert r.status_code == 403 and "2 分钟" in r.get_json()["error"]["message"]
    r = api.post(f"/api/tickets/{tid}/reprint")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "device_not_paired"


def test_security_keys_are_checked_and_shown_by_config_check(tmp_path: Any, capsys: Any) -> None:
    import argparse

    import pytest
    from hall.cli.config_cmd import check_cmd
    from hall.config.loader import ConfigError, demo_config_path, load_config

    demo = demo_config_path().read_text(encoding="utf-8")
    bad = tmp_path / "hall.toml"
    bad.write_text(demo.replace("reprint_minutes = 5", "reprint_minutes = 0"), encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_config(bad)
    assert any(p.startswith("security.reprint_minutes") for p in ei.value.problems)
    good = tmp_path / "good.toml"
    good.write_text(demo.replace("pairing_code_minutes = 10", "pairing_code_minutes = 15"), encoding="utf-8")
    assert check_cmd(argparse.Namespace(file=str(good))) == 0
    out = capsys.readouterr().out
    assert "自助补打 5 分钟内" in out and "配对码 15 分钟有效" in out


def test_demo_start_makes_one_code_per_device_and_prints_them(client: Any, services: Any) -> None:
    from hall.cli.serve import _demo_pairing_codes, demo_banner

    codes = _demo_pairing_codes(services)
    cfg = services.config
    assert len(codes) == len(cfg.windows) + len(cfg.kiosks)
    banner = demo_banner(cfg, "127.0.0.1", 8080, services.data_dir, codes)
    for name, code in codes:
        assert f"{name} {code}" in banner
    listed = client.get("/api/tech/pairings", headers=_tech(client)).get_json()["pairings"]
    waiting = {p["name"]: p.get("code") for p in listed if p["state"] == "waiting"}
    assert waiting == dict(codes)                   # shown on /tech while they wait
    name, code = codes[0]
    r = _bare(client).post("/api/pairing", json={"code": code})
    assert r.status_code == 201 and r.get_json()["name"] == name
    listed = client.get("/api/tech/pairings", headers=_tech(client)).get_json()["pairings"]
    assert all("code" not in p for p in listed if p["state"] == "paired")

