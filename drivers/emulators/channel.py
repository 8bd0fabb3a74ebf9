"""The real channels the byte-stream emulators sit behind: a TCP server on 127.0.0.1, or a pty.

`StreamEmulator` is the plumbing the LED, printer and ID-card emulators
share: it listens on TCP (one thread per client, every client tracked so
`unplug` can cut it), or serves a pty, reads each line until it goes or the
emulator stops, and pulls and plugs the "cable" again. A subclass keeps its
protocol to itself: `_session(chunks, send)` gets the bytes of one TCP client
or of the pty as they arrive, and the function that writes the answers back.

`PtyEndpoint` is one pty (POSIX only), optionally behind a stable symlink;
the evaluator keypad emulator uses it too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from hall.drivers.transport import SerialTransport, TcpTransport, Transport

log = logging.getLogger(__name__)
T = TypeVar("T")

#: an idle TCP client's read (and the accept) wakes this often to look at the stop flag (stop and unplug shut the
#: socket down, which wakes it at once anyway)
IDLE_WAKE = 5.0


def require_pty() -> None:
    """Raise RuntimeError where there are no ptys (Windows): the emulators then offer TCP."""
    if not hasattr(os, "openpty") or sys.platform == "win32":
        raise RuntimeError("pty 仅在 Linux/macOS 上可用；Windows 请用 TCP 模式 / pty needs POSIX")


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a file descriptor (a pty master); OSError when it is gone."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        view = view[n:]


def notify(observer: Callable[[T], None] | None, item: T, what: str) -> None:
    """Tell a test's or bench's observer about a frame or job; its failure is logged, the emulator goes on."""
    if observer is None:
        return
    try:
        observer(item)
    except Exception:
        log.exception("%s callback failed", what)


def driver_transport(emu: StreamEmulator, url: str, *, baudrate: int) -> Transport:
    """Start `emu` for a device's `emulator://` URL and return the transport its driver opens:
    `emulator://pty` on a pty, driven as a serial line at `baudrate` (POSIX; ValueError elsewhere),
    anything else on TCP 127.0.0.1 at a free port."""
    if url.rstrip("/") == "emulator://pty":
        try:
            path = emu.start_pty()
        except RuntimeError as exc:
            raise ValueError(str(exc)) from exc
        return SerialTransport(path, baudrate=baudrate)
    port = emu.start_tcp("127.0.0.1", 0)
    return TcpTransport("127.0.0.1", port, connect_timeout=1.0, io_timeout=3.0)


class PtyEndpoint:
    """A raw pty: the emulator serves `master`, the driver opens `path`.

    With `link`, `path` is a stable symlink to the slave (like a /dev/serial/by-id
    name): `close()` removes it with the pty (the device node disappears, the
    driver's reads fail, like a USB adapter pulled out) and `open()` links a new
    pty in. Without, `path` is the slave's own name. The slave stays open here
    too: that keeps the master from reading EIO between the driver's opens.
    """

    def __init__(self, link: Path | None = None) -> None:
        self.link = link
        self.path = str(link) if link is not None else ""
        self.master: int | None = None
        self.slave: int | None = None

    def open(self) -> int:
        """Open a new pty (and point the link at it); returns the master."""
        import tty

        require_pty()
        master, slave = os.openpty()
        tty.setraw(slave)          # a binary line like a real UART: no echo, no CR/LF translation
        self.master, self.slave = master, slave
        if self.link is None:
            self.path = os.ttyname(slave)
            return master
        self.link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.link)   # atomic: the driver never sees the link missing while plugged
        return master

    def close(self) -> None:
        """Remove the link (if any), then close the pty."""
        if self.link is not None:
            with contextlib.suppress(OSError):
                self.link.unlink()
        for fd in (self.master, self.slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = None


class StreamEmulator:
    """TCP/pty plumbing for an emulator of a device on a byte stream (see the module doc).

    Subclasses call `super().__init__()` first, implement `_session`, and may
    set `thread_name`, `pty_unplugs` (a pty behind a stable link can be pulled
    out and plugged in again; a bare pty cannot), `pty_wake` (how often an idle
    pty read looks whether it is still current) and `read_size()`.
    """

    kind = "device"
    thread_name = "emu"
    pty_unplugs = False
    pty_wake = 0.2

    def __init__(self) -> None:
        self.connections = 0
        self.unplugged = False
        self.port: int | None = None
        self.pty_path: str | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._host = "127.0.0.1"
        self._server: socket.socket | None = None
        self._clients: set[socket.socket] = set()
        self._pty: PtyEndpoint | None = None
        self._pty_thread: threading.Thread | None = None

    # ---------------------------------------------------------------- for subclasses
    def _session(self, chunks: Iterator[bytes], send: Callable[[bytes], None]) -> None:
        """Serve one line (a TCP client, or the pty) in its own thread: read `chunks` until they end
        (the client went, the pty was unplugged or replaced, the emulator stops) and answer with
        `send`, which raises OSError when the line is gone."""
        raise NotImplementedError

    def read_size(self) -> int:
        """How many bytes one read may take (a slow or paced emulator takes fewer)."""
        return 4096

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        if self.port is not None:
            return f"tcp://{self._host}:{self.port}"
        return self.pty_path or ""

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on host:port (0 = any free port); returns the port."""
        self._host = host
        self._listen(port)
        assert self.port is not None
        return self.port

    def start_pty(self) -> str:
        """Serve a pty; returns the path the driver opens (POSIX only)."""
        return self._start_pty()

    def _start_pty(self, link: Path | None = None) -> str:
        """Serve a pty (behind `link`, if given); returns the path the driver opens. POSIX only."""
        require_pty()
        self._pty = PtyEndpoint(link)
        self._open_pty()
        self.pty_path = self._pty.path
        return self.pty_path

    def stop(self) -> None:
        self._stop.set()
        self._close_server()
        self._drop_clients()
        for t in self._threads:
            t.join(2.0)
        if self._pty is not None:      # after the loops ended: a closed fd's number may be reused at once
            self._pty.close()

    # ---------------------------------------------------------------- the cable
    def unplug(self) -> None:
        """Pull the cable: TCP refuses connections and cuts the live ones; a linked pty's node disappears."""
        if self.port is None and not self.pty_unplugs:
            raise RuntimeError("unplug 仅支持 TCP 模式 / unplug needs TCP mode")
        self.unplugged = True
        if self.port is not None:
            self._close_server()
            self._drop_clients()
        elif self._pty is not None:
            self._pty.close()

    def replug(self) -> None:
        """Plug the cable in again: listen on the same port, or link a new pty in."""
        if not self.unplugged:
            return
        self.unplugged = False
        if self.port is None:
            if self._pty is not None:
                self._open_pty()
            return
        for _ in range(50):    # the port may sit in TIME_WAIT for a moment
            try:
                self._listen(self.port)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"端口 {self.port} 无法重新监听 / cannot listen again")

    def _send_to_all(self, data: bytes) -> None:
        """Write the same bytes to every connected TCP client and the pty (line noise)."""
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            with contextlib.suppress(OSError):
                c.sendall(data)
        master = self._pty.master if self._pty is not None else None
        if master is not None:
            with contextlib.suppress(OSError):
                os.write(master, data)

    # ---------------------------------------------------------------- internal
    def _spawn(self, fn: Callable[..., None], *args: Any, name: str) -> threading.Thread:
        t = threading.Thread(target=fn, args=args, name=name, daemon=True)
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        return t

    def _listen(self, port: int) -> None:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((self._host, port))
        srv.listen(4)
        srv.settimeout(IDLE_WAKE)   # shutdown() in stop/unplug ends the accept at once: this is only a fallback
        self._server = srv
        self.port = srv.getsockname()[1]
        self._spawn(self._accept_loop, srv, name=f"{self.thread_name}-accept-{self.port}").start()

    def _close_server(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            # shutdown() stops listening at once (close() alone waits for the blocked accept to return,
            # and a connect in between would still be accepted by the kernel).
            with contextlib.suppress(OSError):
                srv.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                srv.close()

    def _drop_clients(self) -> None:
        with self._lock:
            clients = list(self._clients)
            self._clients.clear()
        for c in clients:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()

    def _accept_loop(self, srv: socket.socket) -> None:
        while not self._stop.is_set() and self._server is srv:
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.unplugged:
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._clients.add(conn)
                self.connections += 1
            self._spawn(self._serve_tcp, conn, name=f"{self.thread_name}-conn").start()

    def _serve_tcp(self, conn: socket.socket) -> None:
        try:
            self._session(self._tcp_chunks(conn), conn.sendall)
        finally:
            self._forget_client(conn)

    def _tcp_chunks(self, conn: socket.socket) -> Iterator[bytes]:
        conn.settimeout(IDLE_WAKE)
        while not self._stop.is_set():
            try:
                data = conn.recv(self.read_size())
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            yield data

    def _forget_client(self, conn: socket.socket) -> None:
        with self._lock:
            self._clients.discard(conn)
        with contextlib.suppress(OSError):
            conn.close()

    def _pty_loop(self, master: int) -> None:
        with self._lock:
            self.connections += 1
        self._session(self._pty_chunks(master), lambda data: write_all(master, data))

    def _pty_chunks(self, master: int) -> Iterator[bytes]:
        import select

        while self._pty_current(master):
            try:
                ready, _, _ = select.select([master], [], [], self.pty_wake)
                if not ready:
                    continue
                data = os.read(master, self.read_size())
            except OSError:
                if not self._pty_current(master):
                    return
                time.sleep(0.05)
                continue
            if data:
                yield data

    def _open_pty(self) -> None:
        assert self._pty is not None
        master = self._pty.open()
        self._pty_thread = self._spawn(self._pty_loop, master, name=f"{self.thread_name}-pty")
        self._pty_thread.start()

    def _pty_current(self, master: int) -> bool:
        """Whether this thread still serves the pty: not after unplug closed it, nor after replug
        opened another (which may well get the same fd number)."""
        return (not self._stop.is_set() and self._pty is not None and self._pty.master == master
                and threading.current_thread() is self._pty_thread)
