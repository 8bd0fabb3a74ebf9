"""Reading a hall config file into a `HallConfig`, with errors a technician can act on.

A broken config must stop the service at start with one clear message per
problem (file, key path, what is wrong), never a traceback.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from hall.config.schema import HallConfig
from pydantic import ValidationError


class ConfigError(Exception):
    """A config file that cannot be used; `problems` are lines ready to show."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))

    def render(self) -> str:
        lines = [f"配置文件有误 / invalid config: {self.path}"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def demo_config_path() -> Path:
    """The demo hall's config, shipped inside the package."""
    return Path(str(resources.files("hall.config").joinpath("demo.toml")))


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _problems(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors(include_url=False):
        msg = str(e["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        where = format_loc(tuple(e["loc"]))
        if e["type"] == "extra_forbidden":
            msg = "unknown key / 未知配置项"
        elif e["type"] == "missing":
            msg = "required key is missing / 缺少必填项"
        if where and not msg.startswith(where.split("[")[0]):
            problems.append(f"{where}: {msg}")
        else:
            problems.append(msg)
    return problems


def parse_config(data: dict[str, Any], path: str = "<config>") -> HallConfig:
    try:
        return HallConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(path, _problems(err)) from None


def load_config(path: str | Path) -> HallConfig:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(p), ["file not found / 文件不存在"]) from None
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read / 无法读取: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(str(p), ["file is not UTF-8 / 文件不是 UTF-8 编码"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), [f"TOML syntax / 语法错误: {exc}"]) from None
    return parse_config(data, str(p))
