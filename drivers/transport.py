"""Byte channels to devices: serial (any pyserial URL), TCP, USB bulk, file.

Every transport has short timeouts (seconds, never a library's 60 s default)
and raises `TransportError` (or an `OSError`) when the link is gone, which the
device worker takes as "offline, reconnect with backoff".

URLs a hall config may use:
  /dev/ttyUSB0, COM3, loop://, socket://host:port, rfc2217://host:port  → serial
  tcp://host:port                                                       → raw TCP
  usb://0x0416:0x5011[?out=0x03&in=0x81]                                → USB bulk
  file:///dev/usb/lp0                                                   → write-only file
"""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse


class TransportError(OSError):
    """The channel to a device failed; the message names the device channel."""


try:  # pyserial's POSIX backend lets termios.error (not an OSError) out of flush(), e.g. EIO on a pulled adapter
    import termios

    _SERIAL_OS_ERRORS: tuple[type[Exception], ...] = (OSError, termios.error)
except ImportError:  # Windows
    _SERIAL_OS_ERRORS = (OSError,)


class Transport(Protocol):
    url: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def read(self, size: int, timeout: float) -> bytes: ...

    @property
    def is_open(self) -> bool: ...


class Waker:
    """Ends another thread's wait on a device line: a socket pair whose read end joins the wait's select.

    A keypad's worker listens to its line until the next heartbeat is due, and a rating prompt opened
    by a clerk must end that wait at once. A socket pair works with select on Windows too; a wake
    sent before the wait began is kept (the byte stays) so the next wait ends at once: none is lost.
    """

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)

    def fileno(self) -> int:
        return self._r.fileno()

    def wake(self) -> None:
        try:
            self._w.send(b"w")
        except OSError:     # the pair's buffer is full: a wake is pending already
            pass

    def drain(self) -> None:
        try:
            while self._r.recv(256):
                pass
        except OSError:     # BlockingIOError: nothing more to drain
            pass

    def close(self) -> None:
        for s in (self._r, self._w):
            try:
                s.close()
            except OSError:
                pass


def can_wake(transport: object) -> bool:
    """Whether `transport.wake()` reliably ends a read in progress (or the next one): see `Waker`."""
    return bool(getattr(transport, "wakeable", False))


class SerialTransport:
    """pyserial ports and URLs. A wait is ended from another thread (`wake`) on POSIX ports (pyserial's own
    cancel pipe) and `socket://` lines (a `Waker`); Windows COM ports and other URLs cannot be woken
    (`wakeable` is false) and their users keep short read windows."""

    def __init__(self, url: str, *, baudrate: int = 9600, bytesize: int = 8, parity: str = "N",
                 stopbits: float = 1, write_timeout: float = 3.0) -> None:
        self.url = url
        self.settings = {"baudrate": baudrate, "bytesize": bytesize, "parity": parity, "stopbits": stopbits}
        self.write_timeout = write_timeout
        self._port: Any = None
        self._woken = False
        self._waker: Waker | None = None     # socket:// lines: pyserial has no cancel for them

    def open(self) -> None:
        import serial

        try:
            self._port = serial.serial_for_url(
                self.url, timeout=0.2, write_timeout=self.write_timeout, **self.settings
            )
        except (serial.SerialException, ValueError) as exc:
            raise TransportError(f"串口 {self.url} 打开失败 / cannot open: {exc}") from exc
        self._woken = False
        if self._socket() is not None:
            self._waker = Waker()

    def _socket(self) -> Any:
        """The TCP socket behind a `socket://` URL (pyserial's protocol_socket keeps it in `_socket`)."""
        return getattr(self._port, "_socket", None) if self.url.startswith("socket://") else None

    @property
    def wakeable(self) -> bool:
        port = self._port
        return port is not None and (hasattr(port, "pipe_abort_read_w") or self._waker is not None)

    def wake(self) -> None:
        """End a read in progress on another thread (or the next one), see `Waker`."""
        self._woken = True
        port = self._port
        waker = self._waker
        try:
            if waker is not None:
                waker.wake()
            elif port is not None and hasattr(port, "pipe_abort_read_w"):
                port.cancel_read()      # POSIX: a byte on pyserial's abort pipe, kept until a read takes it
        except (OSError, ValueError):   # the port was closed under us: the worker reconnects anyway
            pass

    # dup-ok: like the other transports' and kiosk/relay/client.py's close: each wraps its own handle, errors
    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:
                pass
        self._port = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    @property
    def is_open(self) -> bool:
        return self._port is not None and bool(self._port.is_open)

    def write(self, data: bytes) -> None:
        import serial

        if self._port is None:
            raise TransportError(f"{self.url} 未连接 / not open")
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, *_SERIAL_OS_ERRORS) as exc:
            raise TransportError(f"{self.url} 写入失败 / write failed: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        import serial

        if self._port is None:
            raise TransportError(f"{self.url} 未连接 / not open")
        deadline = time.monotonic() + timeout
        buf = b""
        try:
            while len(buf) < size and time.monotonic() < deadline:
                if self._woken:
                    self._woken = False
                    if self._waker is not None:
                        self._waker.drain()
                    break
                if self._waker is not None and not self._readable(deadline):
                    continue
                # one wait for the whole window (data ends it at once); set only when it changes, since
                # on a real port each assignment reconfigures the line (tcsetattr)
                wait = max(0.01, min(1.0, deadline - time.monotonic()))
                if abs((self._port.timeout or 0) - wait) > 0.005:
                    self._port.timeout = wait
                buf += self._port.read(size - len(buf))
        except (serial.SerialException, *_SERIAL_OS_ERRORS) as exc:
            raise TransportError(f"{self.url} 读取失败 / read failed: {exc}") from exc
        return buf

    def _readable(self, deadline: float) -> bool:
        """Wait for data on a socket:// line or a wake, whichever comes first (False: woken or timed out)."""
        sock, waker = self._socket(), self._waker
        if sock is None or waker is None:
            return True
        ready, _, _ = select.select([sock.fileno(), waker.fileno()], [], [], max(0.0, deadline - time.monotonic()))
        if waker.fileno() in ready:
            waker.drain()
        return sock.fileno() in ready


class TcpTransport:
    def __init__(self, host: str, port: int, *, connect_timeout: float = 3.0, io_timeout: float = 5.0) -> None:
        self.url = f"tcp://{host}:{port}"
        self.host, self.port = host, port
        self.connect_timeout, self.io_timeout = connect_timeout, io_timeout
        self._sock: socket.socket | None = None
        self._waker: Waker | None = None     # made on open, closed on close: a wake needs an open line
        self._woken = False

    @property
    def wakeable(self) -> bool:
        return True

    def wake(self) -> None:
        """End a read in progress on another thread (or the next one), see `Waker`."""
        self._woken = True
        waker = self._waker
        if waker is not None:
            waker.wake()

    def open(self) -> None:
        try:
            s = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise TransportError(f"{self.url} 连接失败 / cannot connect: {exc}") from exc
        s.settimeout(self.io_timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = s
        self._waker, self._woken = Waker(), False

    # dup-ok: like the other transports' close/is_open/write: each wraps its own handle and its own errors
    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def write(self, data: bytes) -> None:
        if self._sock is None:
            raise TransportError(f"{self.url} 未连接 / not open")
        try:
            self._sock.sendall(data)
        except OSError as exc:  # BrokenPipeError, ConnectionResetError, timeout
            raise TransportError(f"{self.url} 发送失败 / send failed: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        if self._sock is None or self._waker is None:
            raise TransportError(f"{self.url} 未连接 / not open")
        waker = self._waker
        deadline = time.monotonic() + timeout
        buf = b""
        while len(buf) < size:
            if self._woken:
                self._woken = False
                waker.drain()
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                ready, _, _ = select.select([self._sock.fileno(), waker.fileno()], [], [], remaining)
            except (OSError, ValueError) as exc:   # closed under us by stop()
                raise TransportError(f"{self.url} 接收失败 / receive failed: {exc}") from exc
            if waker.fileno() in ready:
                waker.drain()
            if self._sock.fileno() not in ready:
                continue
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(size - len(buf))
            except TimeoutError:
                break
            except OSError as exc:
                raise TransportError(f"{self.url} 接收失败 / receive failed: {exc}") from exc
            if not chunk:
                raise TransportError(f"{self.url} 对端已断开 / peer closed the connection")
            buf += chunk
        self._sock.settimeout(self.io_timeout)
        return buf


class UsbTransport:
    """USB bulk endpoints through pyusb; `backend` is injectable for tests."""

    def __init__(self, vendor: int, product: int, *, out_ep: int | None = None, in_ep: int | None = None,
                 backend: Any = None, timeout_ms: int = 3000) -> None:
        self.url = f"usb://{vendor:#06x}:{product:#06x}"
        self.vendor, self.product = vendor, product
        self.out_ep, self.in_ep = out_ep, in_ep
        self.backend = backend
        self.timeout_ms = timeout_ms
        self._dev: Any = None

    def open(self) -> None:
        import usb.core
        import usb.util

        try:
            dev = usb.core.find(idVendor=self.vendor, idProduct=self.product, backend=self.backend)
        except usb.core.NoBackendError as exc:
            raise TransportError("未找到 libusb（请安装 libusb-1.0）/ no libusb backend") from exc
        if dev is None:
            raise TransportError(f"{self.url} 未找到设备 / device not found (unplugged?)")
        try:
            if hasattr(dev, "is_kernel_driver_active") and dev.is_kernel_driver_active(0):
                dev.detach_kernel_driver(0)
        except (NotImplementedError, usb.core.USBError):
            pass
        try:
            dev.set_configuration()
        except usb.core.USBError as exc:
            raise TransportError(f"{self.url} 配置失败 / cannot configure: {exc}") from exc
        if self.out_ep is None or self.in_ep is None:
            intf = dev.get_active_configuration()[(0, 0)]
            for ep in intf:
                direction = usb.util.endpoint_direction(ep.bEndpointAddress)
                if direction == usb.util.ENDPOINT_OUT and self.out_ep is None:
                    self.out_ep = ep.bEndpointAddress
                elif direction == usb.util.ENDPOINT_IN and self.in_ep is None:
                    self.in_ep = ep.bEndpointAddress
        self._dev = dev

    # dup-ok: like the other transports' close/is_open/write: each wraps its own handle and its own errors
    def close(self) -> None:
        if self._dev is not None:
            try:
                import usb.util

                usb.util.dispose_resources(self._dev)
            except Exception:
                pass
        self._dev = None

    @property
    def is_open(self) -> bool:
        return self._dev is not None

    def write(self, data: bytes) -> None:
        import usb.core

        if self._dev is None or self.out_ep is None:
            raise TransportError(f"{self.url} 未连接 / not open")
        try:
            self._dev.write(self.out_ep, data, self.timeout_ms)
        except usb.core.USBError as exc:
            raise TransportError(f"{self.url} 发送失败 / write failed: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        import usb.core

        if self._dev is None or self.in_ep is None:
            raise TransportError(f"{self.url} 未连接 / not open")
        try:
            return bytes(self._dev.read(self.in_ep, size, int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise TransportError(f"{self.url} 接收失败 / read failed: {exc}") from exc


class FileTransport:
    """A printer device file such as /dev/usb/lp0: write-only, status reads return nothing."""

    def __init__(self, path: str) -> None:
        self.url = f"file://{path}"
        self.path = Path(path)
        self._fh: Any = None

    def open(self) -> None:
        try:
            self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - held open for the device's life
        except OSError as exc:
            raise TransportError(f"{self.path} 打开失败 / cannot open: {exc.strerror}") from exc

    # dup-ok: like the other transports' close/is_open/write: each wraps its own handle and its own errors
    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
        self._fh = None

    @property
    def is_open(self) -> bool:
        return self._fh is not None

    def write(self, data: bytes) -> None:
        if self._fh is None:
            raise TransportError(f"{self.path} 未打开 / not open")
        try:
            self._fh.write(data)
        except OSError as exc:
            raise TransportError(f"{self.path} 写入失败 / write failed: {exc.strerror}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        return b""


def open_transport(url: str, options: dict[str, Any] | None = None) -> Transport:
    """Build (not open) the transport a config URL names."""
    opts = dict(options or {})
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "tcp":
        if not parsed.hostname or not parsed.port:
            raise ValueError(f"TCP 地址需要主机和端口，例如 tcp://192.168.1.50:9100，而不是 {url}")
        return TcpTransport(parsed.hostname, parsed.port)
    if scheme == "usb":
        try:
            vendor_s, product_s = parsed.netloc.split(":")
            vendor, product = int(vendor_s, 16), int(product_s, 16)
        except ValueError:
            raise ValueError(f"USB 地址格式为 usb://0x0416:0x5011，而不是 {url}") from None
        q = parse_qs(parsed.query)
        out_ep = int(q["out"][0], 16) if "out" in q else None
        in_ep = int(q["in"][0], 16) if "in" in q else None
        return UsbTransport(vendor, product, out_ep=out_ep, in_ep=in_ep)
    if scheme == "file":
        return FileTransport(parsed.path)
    serial_keys = ("baudrate", "bytesize", "parity", "stopbits")
    return SerialTransport(url, **{k: opts[k] for k in serial_keys if k in opts})
