"""Errors the queue engine raises: a stable code, a Chinese message, and a status.

The status is an HTTP-like number so the web layer maps errors without a
table of its own; the engine itself knows nothing of HTTP.
"""

from __future__ import annotations


class QueueError(Exception):
    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def not_found(what: str) -> QueueError:
    return QueueError("not_found", f"{what}不存在", 404)


def invalid(message: str) -> QueueError:
    return QueueError("invalid", message, 400)
