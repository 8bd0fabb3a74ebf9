"""`kiosk setup`: the first-run config a technician gets from the hall's answers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hall.cli import main
from hall.config.loader import load_config
from hall.security import verify_pin

ANSWERS = [
    "--name", "青石镇便民服务中心", "--region-code", "430121101",
    "--window", "1=A,B", "--window", "2=c,D,E,F",
    "--staff", "1001:王芳:clerk:135790:1:A", "--staff", "1002:李强:clerk:246801:1,2:B",
    "--staff", "9001:张敏:manager:zhangmin-888", "--staff", "9101:刘工:technician:liugong-565",
]


def test_answers_become_a_valid_config_with_hashed_pins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "etc" / "hall.toml"
    assert main(["setup", "--out", str(out), "--port", "8123", "--data-dir", str(tmp_path / "data"), *ANSWERS]) == 0
    cfg = load_config(out)          # the service's own loader accepts it
    assert cfg.hall.name == "青石镇便民服务中心" and cfg.hall.region_code == "430121101"
    assert {w.number: w.categories for w in cfg.windows} == {1: ["A", "B"], 2: ["C", "D", "E", "F"]}
    assert cfg.server.host == "0.0.0.0" and cfg.server.port == 8123     # a real hall serves its LAN
    assert cfg.server.data_dir == str(tmp_path / "data")
    li = cfg.staff_member("1002")
    assert li is not None and li.post == "B" and li.windows == [1, 2]
    assert verify_pin("246801", li.pin_hash) and not verify_pin("246802", li.pin_hash)
    boss = cfg.staff_member("9001")        # the manager signs in with a password, not a PIN
    assert boss is not None and boss.pin_hash is None and not boss.needs_password
    assert boss.password_hash is not None and verify_pin("zhangmin-888", boss.password_hash)
    text = out.read_text(encoding="utf-8")
    for pin in ("135790", "246801", "zhangmin-888", "liugong-565"):
        assert pin not in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o640        # PIN hashes: not world-readable
    assert "config written" in capsys.readouterr().out


def test_an_existing_config_is_kept_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hall.toml"
    out.write_text("# the hall's own edits\n", encoding="utf-8")
    assert main(["setup", "--out", str(out), *ANSWERS]) == 2
    assert out.read_text(encoding="utf-8") == "# the hall's own edits\n"
    assert "--force" in capsys.readouterr().err
    assert main(["setup", "--out", str(out), "--force", *ANSWERS]) == 0
    assert load_config(out).hall.name == "青石镇便民服务中心"


@pytest.mark.parametrize(("bad", "expected"), [
    (["--region-code", "43012"], "hall.region_code"),
    (["--window", "3=Z"], 'unknown category "Z"'),
    (["--staff", "1003:赵六:clerk:12"], "6 位数字"),
    (["--staff", "9002:钱七:manager:123456"], "至少 8 位的密码"),
    (["--staff", "1003:赵六:boss:123456"], "角色 boss"),
    (["--staff", "1003:赵六:clerk:123456:7"], "unknown window 7"),
    (["--window", "x=A"], "1=A,B"),
])
def test_bad_answers_write_nothing_and_say_why(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               bad: list[str], expected: str) -> None:
    out = tmp_path / "hall.toml"
    args = list(ANSWERS)
    flag = bad[0]
    if flag in ("--region-code",):      # replace the single-valued answer
        args[args.index(flag) + 1] = bad[1]
    else:
        args += bad
    assert main(["setup", "--out", str(out), *args]) == 2
    assert not out.exists()
    assert expected in capsys.readouterr().err


def test_a_malformed_staff_line_never_echoes_the_pin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--out", str(tmp_path / "h.toml"), *ANSWERS[:8], "--staff", "1001:王芳:clerk"]) == 2
    err = capsys.readouterr().err
    assert "工号:姓名:角色:PIN" in err


def test_without_a_terminal_missing_answers_are_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # pytest's stdin is not a TTY: nothing may block waiting for input.
    assert main(["setup", "--out", str(tmp_path / "h.toml"), "--name", "某镇"]) == 2
    assert "--region-code" in capsys.readouterr().err


def test_interactive_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hall.cli import setup_cmd

    replies = iter(["红星镇便民服务中心", "430121", "1=A,B,C,D,E,F", "", "9101:刘工:technician:liugong-565", ""])
    monkeypatch.setattr(setup_cmd.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(replies))
    out = tmp_path / "h.toml"
    assert main(["setup", "--out", str(out)]) == 0
    cfg = load_config(out)
    assert cfg.hall.name == "红星镇便民服务中心" and [w.number for w in cfg.windows] == [1]
    assert os.access(out, os.R_OK)
