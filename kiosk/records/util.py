"""Small helpers shared by the record services: who acts, audit rows, atomic files."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hall.queue.errors import QueueError


# dup-ok: village/base.py has the same helpers for VillageError; each room raises its own error type
class RecordError(QueueError):
    """A record rule was broken: stable code, Chinese message, HTTP-like status."""


def not_found(what: str) -> RecordError:
    return RecordError("not_found", f"{what}不存在", 404)


def invalid(message: str) -> RecordError:
    return RecordError("invalid", message, 400)


def conflict(code: str, message: str) -> RecordError:
    return RecordError(code, message, 409)


@dataclass(frozen=True)
class Actor:
    """Who did something and from where: a staff id, or a citizen channel (kiosk, tablet, phone)."""

    id: str
    role: str = "citizen"          # clerk | manager | technician | citizen | device | county | system
    remote: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in ("clerk", "manager", "technician")


SYSTEM = Actor("system", "system")


def audit(c: sqlite3.Connection, at: str, actor: Actor, action: str, target: str, detail: str = "") -> None:
    """One audit row, inside the caller's transaction (kept at least six months: DESIGN §4)."""
    c.execute(
        "INSERT INTO audit (at, actor, role, action, target, detail, remote) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (at, actor.id, actor.role, action, target, detail[:500], actor.remote or None),
    )


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# Short codes people read aloud or type: no 0/O, 1/I/L, 2/Z, 5/S, 8/B look-alikes.
CODE_ALPHABET = "3467ACDEFGHJKMNPQRTUVWXY9"


def short_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file (UTF-8, \\n line ends) so a reader or a power cut sees old or new, never half."""
    atomic_write_bytes(path, text.encode("utf-8"))


# dup-ok: drivers/camera/page.py keeps its own atomic write (drivers import nothing from the records room)
def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so a reader (or a power cut) sees the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
