"""Manager and technician passwords (≥ 8 characters), clerk PINs (6 digits), and the migration path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hall.cli import main
from hall.config.loader import demo_config_path
from hall.config.schema import HallConfig, Staff
from hall.queue.clock import FixedClock
from hall.security import hash_pin, verify_pin
from hall.services import build_services


def test_hash_password_refuses_short_passwords_and_hash_pin_wants_six_digits(capsys: Any) -> None:
    assert main(["config", "hash-password", "--password", "short7!"]) == 2
    assert "至少 8 位" in capsys.readouterr().err
    assert main(["config", "hash-password", "--password", "long-enough"]) == 0
    assert verify_pin("long-enough", capsys.readouterr().out.strip())
    assert main(["config", "hash-pin", "--pin", "1234"]) == 2
    assert "6 位数字" in capsys.readouterr().err
    assert main(["config", "hash-pin", "--pin", "123456"]) == 0
    assert verify_pin("123456", capsys.readouterr().out.strip())


def test_schema_wants_one_secret_and_a_pin_for_clerks() -> None:
    h = hash_pin("123456", iterations=1000)
    with pytest.raises(ValueError, match="pin_hash"):
        Staff(id="1", name="甲", role="clerk", password_hash=h)
    with pytest.raises(ValueError, match="只能设置一个"):
        Staff(id="1", name="甲", role="manager", pin_hash=h, password_hash=h)
    with pytest.raises(ValueError, match="password_hash"):
        Staff(id="1", name="甲", role="technician")
    assert Staff(id="1", name="甲", role="manager", pin_hash=h).needs_password
    assert not Staff(id="1", name="甲", role="manager", password_hash=h).needs_password


def _legacy(config: HallConfig) -> HallConfig:
    """A config from before passwords: the manager still has a 6-digit PIN."""
    staff = [s.model_copy(update={"password_hash": None, "pin_hash": hash_pin("888888", iterations=1000)})
             if s.role == "manager" else s for s in config.staff]
    return config.model_copy(update={"staff": staff})


def test_a_manager_still_on_a_pin_signs_in_with_a_loud_warning(tmp_path: Path, config: HallConfig,
                                                                 clock: FixedClock, capsys: Any) -> None:
    from hall.web.app import create_app

    cfg = _legacy(config)
    svc = build_services(cfg, tmp_path, clock=clock, with_devices=False)
    try:
        client = create_app(svc, {"TESTING": True}).test_client()
        r = client.post("/api/session", json={"staff_id": "9001", "pin": "888888"})
        assert r.status_code == 201
        tech = client.post("/api/session", json={"staff_id": "9101", "pin": "tech-6666"}).get_json()["token"]
        checks = client.get("/api/tech/config", headers={"Authorization": f"Bearer {tech}"}).get_json()["checks"]
        assert any(c["level"] == "warn" and "9001" in c["message"] and "密码" in c["message"] for c in checks)
    finally:
        svc.stop()
    # `kiosk config check` says the same on the command line
    text = demo_config_path().read_text(encoding="utf-8")
    start = text.index('id = "9001"')
    end = text.index("\n[[staff]]", start)
    block = text[start:end]
    pw_line = next(line for line in block.splitlines() if line.startswith("password_hash"))
    legacy = text[:start] + block.replace(pw_line, f'pin_hash = "{hash_pin("888888", iterations=1000)}"') + text[end:]
    path = tmp_path / "legacy.toml"
    path.write_text(legacy, encoding="utf-8")
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "WARNING" in out and "9001" in out and "hash-password" in out
    assert main(["config", "check", str(demo_config_path())]) == 0
    assert "WARNING" not in capsys.readouterr().out
