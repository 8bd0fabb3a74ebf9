"""The two lines the serial keypad emulator sits behind, polled with `select` by its one thread.

`PtyLink` is a pty whose slave the driver opens through a stable symlink (like a
udev name for a USB-serial adapter; POSIX); `TcpLink` is a TCP server on
127.0.0.1 that serves one client at a time (everywhere; the driver opens
`socket://127.0.0.1:PORT`). Both answer the same small interface: `readable()`,
`on_readable(obj)`, `write(data)`, `plug()` / `unplug()`, `connected`, `url`.

They differ from `StreamEmulator` on purpose: the keypad sends frames of its own
(key presses, retransmissions) from timers, so one select loop owns the line
instead of a reader thread per client.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Any

from hall.drivers.emulators.channel import PtyEndpoint, write_all


def default_channel() -> str:
    return "pty" if hasattr(os, "openpty") and os.name == "posix" else "tcp"


class PtyLink(PtyEndpoint):
    """A pty whose slave the driver opens through a stable symlink; unplug removes both."""

    def __init__(self, link: Path) -> None:
        super().__init__(link)

    @property
    def url(self) -> str:
        return self.path

    def plug(self) -> None:
        self.open()

    def unplug(self) -> None:
        self.close()

    def readable(self) -> list[Any]:
        return [self.master] if self.master is not None else []

    def on_readable(self, obj: Any) -> bytes:
        try:
            return os.read(obj, 4096)
        except OSError:
            return b""

    @property
    def connected(self) -> bool:
        return self.master is not None

    def write(self, data: bytes) -> None:
        if self.master is not None:
            with contextlib.suppress(OSError):
                write_all(self.master, data)


class TcpLink:
    """A TCP server on 127.0.0.1; one client at a time (a new one replaces the old)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((host, port))
        self.host = host
        self.server.listen(4)
        self.port = self.server.getsockname()[1]
        self.client: socket.socket | None = None
        self.plugged = False

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def plug(self) -> None:
        self.plugged = True

    def unplug(self) -> None:
        self.plugged = False
        self._drop_client()

    def close(self) -> None:
        self.unplug()
        with contextlib.suppress(OSError):
            self.server.close()

    def _drop_client(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.close()
        self.client = None

    def readable(self) -> list[Any]:
        return [self.server] + ([self.client] if self.client is not None else [])

    def on_readable(self, obj: Any) -> bytes:
        if obj is self.server:
            conn, _ = self.server.accept()
            if not self.plugged:
                conn.close()            # unplugged: the connection opens and drops at once
                return b""
            self._drop_client()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.client = conn
            return b""
        try:
            data = obj.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._drop_client()
        return data

    @property
    def connected(self) -> bool:
        return self.client is not None

    def write(self, data: bytes) -> None:
        if self.client is None:
            return
        try:
            self.client.sendall(data)
        except OSError:
            self._drop_client()

