"""What the village parts share: who is acting (and in which village), errors, settings."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from hall.queue.errors import QueueError
from hall.records.util import Actor

AGENT_PREFIX = "agent:"


def agent_principal_id(agent_id: int) -> str:
    """The id an agent has in sessions, audit rows and case history (never collides with staff ids)."""
    return f"{AGENT_PREFIX}{agent_id}"


def agent_id_of(principal_id: str) -> int | None:
    if not principal_id.startswith(AGENT_PREFIX):
        return None
    raw = principal_id[len(AGENT_PREFIX) :]
    return int(raw) if raw.isdigit() else None


# dup-ok: records/util.py has the same helpers for RecordError; each room raises its own error type
class VillageError(QueueError):
    """A village rule was broken: stable code, Chinese message, HTTP-like status."""


def not_found(what: str) -> VillageError:
    return VillageError("not_found", f"{what}不存在", 404)


def invalid(message: str) -> VillageError:
    return VillageError("invalid", message, 400)


def conflict(code: str, message: str) -> VillageError:
    return VillageError(code, message, 409)


def forbidden(message: str = "当前账号无权执行此操作") -> VillageError:
    return VillageError("forbidden", message, 403)


@dataclass(frozen=True)
class Who:
    """Who acts: an agent (bound to one village) or township staff (clerk, manager)."""

    id: str
    name: str
    role: str  # agent | clerk | manager | technician
    village_id: int | None = None  # agents only
    window: int | None = None  # clerks only
    remote: str = ""

    def __post_init__(self) -> None:
        if self.role == "agent" and self.village_id is None:
            raise ValueError("an agent always acts for one village")

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"

    @property
    def scope(self) -> int | None:
        """The only village this person may see (None: township staff see every village)."""
        return self.village_id if self.is_agent else None

    def actor(self) -> Actor:
        return Actor(self.id, self.role, self.remote)


DEFAULTS: dict[str, int] = {
    # 代办 not delivered to the township within this many working days of registration (or of 退回补正)
    "overdue_days": 3,
    # a handed-over request the township has not received (接件) within this many working days
    "intake_days": 1,
}


def get_setting(c: sqlite3.Connection, name: str) -> int:
    row = c.execute("SELECT value FROM village_settings WHERE name = ?", (name,)).fetchone()
    if row is None:
        return DEFAULTS[name]
    try:
        return int(row[0])
    except ValueError:
        return DEFAULTS[name]


def set_setting(c: sqlite3.Connection, name: str, value: int) -> None:
    if name not in DEFAULTS:
        raise invalid(f"未知设置 {name}")
    c.execute(
        "INSERT INTO village_settings (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, str(value)),
    )
