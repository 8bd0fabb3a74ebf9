"""Reading a device's options (`[[devices]] options` in the hall's config): one rule per type.

A bad value raises ValueError with a Chinese message that names the option and
the value, so the config check and the technician see what to fix. `what`
names whose option it is (e.g. "LED 选项", "打印机选项").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})


def int_option(opts: Mapping[str, Any], key: str, default: int, *, what: str = "设备选项") -> int:
    """An integer; a string may be written in any base Python reads ("0x01", "57600")."""
    v = opts.get(key, default)
    if not isinstance(v, bool):
        try:
            return int(v, 0) if isinstance(v, str) else int(v)
        except (TypeError, ValueError):
            pass
    raise ValueError(f"{what} {key} 应为整数，而不是 {v!r}")


def float_option(opts: Mapping[str, Any], key: str, default: float, *, what: str = "设备选项") -> float:
    """A number (seconds, sizes…), as a number or a string."""
    v = opts.get(key, default)
    if not isinstance(v, bool):
        try:
            return float(v)
        except (TypeError, ValueError):
            pass
    raise ValueError(f"{what} {key} 应为数字，而不是 {v!r}")


def bool_option(opts: Mapping[str, Any], key: str, default: bool, *, what: str = "设备选项") -> bool:
    """A yes/no: a TOML boolean, or true/yes/1 and false/no/0 (so "false" is never taken as true)."""
    v = opts.get(key, default)
    if isinstance(v, bool):
        return v
    word = str(v).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{what} {key} 应为 true 或 false，而不是 {v!r}")
