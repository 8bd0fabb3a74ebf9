"""Technician config check and log tail (/api/tech/*): roles, no secrets, masking, the checks themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hall.config.loader import demo_config_path
from hall.config.schema import HallConfig
from hall.services import Services
from hall.web.api_tech import scrub, tail_lines

from tests.conftest import login

PHONE = "13812345678"
ID_NO = "430102199001011234"


def _tech(client: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + login(client, "9101", "tech-6666", None)}


def test_tech_routes_need_a_technician(client: Any) -> None:
    paths = ("/api/tech/config", "/api/tech/logs")
    for path in paths:
        assert client.get(path).status_code == 401
    for staff, pin, window in (("9001", "hall-8888", None), ("1001", "123456", 1)):
        token = login(client, staff, pin, window)
        for path in paths:
            r = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, (path, staff)


def test_config_has_no_pin_hashes_and_reports_checks(client: Any, config: HallConfig) -> None:
    r = client.get("/api/tech/config", headers=_tech(client))
    assert r.status_code == 200
    data = r.get_json()
    text = json.dumps(data, ensure_ascii=False)
    assert "pbkdf2" not in text and "pin_hash" not in text
    # the counts follow the config the service runs (not a number to bump whenever the demo gains a device)
    assert config.devices and config.windows
    assert data["counts"] == {"categories": len(config.categories), "windows": len(config.windows),
                              "staff": len(config.staff), "devices": len(config.devices)}
    assert [d["name"] for d in data["config"]["devices"]] == [d.name for d in config.devices]
    assert data["config"]["hall"]["name"] == "示范镇便民服务中心"
    assert data["status"] == "warn"                      # demo devices, no county link, no log file
    items = {(c["level"], c["item"]) for c in data["checks"]}
    assert ("warn", "设备") in items and ("warn", "县级平台") in items and ("warn", "日志") in items
    assert data["checks"][0]["level"] == "warn"          # most serious first
    assert data["file"] is None


def test_config_check_compares_the_file_on_disk(client: Any, services: Services, tmp_path: Path) -> None:
    headers = _tech(client)
    cfg = tmp_path / "hall.toml"
    # the file as the fixture's hall runs it (the fixture turns the demo's county link off)
    original = re.sub(r'(?m)^endpoint = .*$', 'endpoint = ""', demo_config_path().read_text("utf-8"))
    cfg.write_text(original, "utf-8")
    services.config_path = cfg
    checks = client.get("/api/tech/config", headers=headers).get_json()["checks"]
    assert any(c["item"] == "配置文件" and c["level"] == "ok" for c in checks)

    cfg.write_text(original.replace("recall_limit = 3", "recall_limit = 4"), "utf-8")
    checks = client.get("/api/tech/config", headers=headers).get_json()["checks"]
    assert any(c["item"] == "配置文件" and c["level"] == "warn" and "重启" in c["message"] for c in checks)

    cfg.write_text(original.replace("recall_limit = 3", "recall_limit = 99"), "utf-8")
    data = client.get("/api/tech/config", headers=headers).get_json()
    assert data["status"] == "error"
    bad = next(c for c in data["checks"] if c["item"] == "配置文件")
    assert bad["level"] == "error" and "recall_limit" in bad["message"]


def test_scrub_masks_secrets_credentials_and_numbers() -> None:
    out = scrub({"county": {"secret_env": "HALL_COUNTY_SECRET", "secret": "s3cr3t", "hmac_key": "k"},
                 "staff": [{"id": "1", "pin_hash": "pbkdf2_sha256$1$aa$bb"}],
                 "url": "rfc2217://admin:pw@10.0.0.5:4000", "note": f"电话 {PHONE} 身份证 {ID_NO}"})
    text = json.dumps(out, ensure_ascii=False)
    assert out["county"]["secret_env"] == "HALL_COUNTY_SECRET"     # where it lives, not the secret
    assert "s3cr3t" not in text and '"k"' not in text and "pin_hash" not in text
    assert "admin:pw" not in text and "10.0.0.5:4000" in text
    assert PHONE not in text and ID_NO not in text and "138****5678" in text


def test_log_tail_is_masked_and_bounded(client: Any, services: Services, tmp_path: Path) -> None:
    headers = _tech(client)
    assert client.get("/api/tech/logs", headers=headers).get_json()["lines"] == []
    log = tmp_path / "logs" / "hall.log"
    log.parent.mkdir()
    (log.parent / "hall.log.1").write_text("".join(f"old {i}\n" for i in range(50)), "utf-8")
    log.write_text("".join(f"line {i}\n" for i in range(30)) + f"WARNING caller {PHONE} id {ID_NO}\n", "utf-8")
    services.log_file = log
    data = client.get("/api/tech/logs?lines=5", headers=headers).get_json()
    assert data["file"] == "hall.log"
    assert data["lines"][:4] == ["line 26", "line 27", "line 28", "line 29"]
    assert data["lines"][4] == "WARNING caller 138****5678 id 430***********1234"
    # short current file: the tail continues into the rotated one
    lines = client.get("/api/tech/logs?lines=40", headers=headers).get_json()["lines"]
    assert len(lines) == 40
    assert lines[:9] == [f"old {i}" for i in range(41, 50)] and lines[9] == "line 0"
    assert len(client.get("/api/tech/logs?lines=2000", headers=headers).get_json()["lines"]) == 81
    # a size beyond the limit is refused with the range, not silently cut down
    r = client.get("/api/tech/logs?lines=999999", headers=headers)
    assert r.status_code == 400 and "1 到 2000" in r.get_json()["error"]["message"]


def test_tail_lines_drops_a_cut_first_line(tmp_path: Path) -> None:
    f = tmp_path / "x.log"
    f.write_text("aaaaaaaaaa\nbbb\nccc\n", "utf-8")
    assert tail_lines(f, 10, max_bytes=9) == ["bbb", "ccc"]
    assert tail_lines(f, 2) == ["bbb", "ccc"]
