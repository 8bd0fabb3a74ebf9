from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hall.config.loader import ConfigError, demo_config_path, load_config

from tests.conftest import write_config as write

DEMO = demo_config_path().read_text(encoding="utf-8")


def test_demo_config_is_valid_and_has_the_six_categories() -> None:
    cfg = load_config(demo_config_path())
    assert [c.prefix for c in cfg.categories] == list("ABCDEF")
    assert len(cfg.windows) == 6
    assert {s.role for s in cfg.staff} == {"clerk", "manager", "technician"}


def test_unknown_category_in_window_names_the_key_path(tmp_path: Path) -> None:
    text = DEMO.replace('number = 3\ncategories = ["C"]', 'number = 3\ncategories = ["G"]')
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, text))
    assert any('windows[2].categories: unknown category "G"' in p for p in ei.value.problems)
    assert str(tmp_path / "hall.toml") in ei.value.render()


def test_type_error_names_the_key_path(tmp_path: Path) -> None:
    text = DEMO.replace("recall_limit = 3", 'recall_limit = "three"')
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, text))
    assert any(p.startswith("queue.recall_limit:") for p in ei.value.problems)


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    text = DEMO.replace("recall_limit = 3", "recall_limmit = 3")
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, text))
    assert any("queue.recall_limmit" in p and "unknown key" in p for p in ei.value.problems)


def test_toml_syntax_error_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, "[hall\nname = 1"))
    assert "TOML" in ei.value.problems[0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_config(tmp_path / "nope.toml")
    assert "not found" in ei.value.problems[0]


def test_bad_prefix_and_duplicate_window(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, DEMO.replace('prefix = "F"', 'prefix = "ff"')))
    assert any(p.startswith("categories[5].prefix") for p in ei.value.problems)
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, DEMO.replace("number = 6", "number = 5")))
    assert any("windows[5].number: duplicate" in p for p in ei.value.problems)


def test_streams_must_leave_spare_threads(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load_config(write(tmp_path, DEMO.replace("max_streams = 32", "max_streams = 46")))
    assert any("server" in p and "max_streams" in p for p in ei.value.problems)


def test_cli_config_check_reports_without_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path, DEMO.replace('number = 3\ncategories = ["C"]', 'number = 3\ncategories = ["G"]'))
    r = subprocess.run([sys.executable, "-m", "hall.cli", "config", "check", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert 'windows[2].categories: unknown category "G"' in r.stderr
    assert "Traceback" not in r.stderr
    ok = subprocess.run([sys.executable, "-m", "hall.cli", "config", "check", str(demo_config_path())],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr


def test_serve_with_broken_config_exits_with_message(tmp_path: Path) -> None:
    bad = write(tmp_path, DEMO.replace("recall_limit = 3", "recall_limit = 0"))
    r = subprocess.run([sys.executable, "-m", "hall.cli", "serve", "--config", str(bad),
                        "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "queue.recall_limit" in r.stderr and "Traceback" not in r.stderr
