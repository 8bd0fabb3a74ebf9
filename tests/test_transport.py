"""Transports: URL parsing, TCP failures, a FIFO as a printer device file, a pty serial line,
and USB bulk through pyusb with an injected backend (the real pyusb code path, no libusb)."""

from __future__ import annotations

import array
import os
import socket
import sys
import threading
from types import SimpleNamespace
from typing import Any

import pytest
import usb.backend
from hall.drivers.transport import (
    FileTransport,
    SerialTransport,
    TcpTransport,
    TransportError,
    UsbTransport,
    open_transport,
)

from tests.waiting import WAIT_SECONDS


def test_open_transport_parses_every_kind() -> None:
    t = open_transport("tcp://192.168.1.50:9100")
    assert isinstance(t, TcpTransport) and (t.host, t.port) == ("192.168.1.50", 9100)
    u = open_transport("usb://0x0416:0x5011?out=0x03&in=0x81")
    assert isinstance(u, UsbTransport) and (u.vendor, u.product, u.out_ep, u.in_ep) == (0x0416, 0x5011, 3, 0x81)
    f = open_transport("file:///dev/usb/lp0")
    assert isinstance(f, FileTransport) and f.path.as_posix() == "/dev/usb/lp0"
    s = open_transport("COM3", {"baudrate": 57600, "parity": "N", "ignored": 1})
    assert isinstance(s, SerialTransport) and s.settings["baudrate"] == 57600
    with pytest.raises(ValueError, match=r"tcp://192\.168\.1\.50:9100"):
        open_transport("tcp://printer")
    with pytest.raises(ValueError, match="usb://0x0416:0x5011"):
        open_transport("usb://epson")


def test_tcp_refused_and_peer_close_are_transport_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = TcpTransport("127.0.0.1", port, connect_timeout=1)
    with pytest.raises(TransportError, match="连接失败"):
        t.open()
    srv = socket.create_server(("127.0.0.1", 0))
    t = TcpTransport("127.0.0.1", srv.getsockname()[1])
    t.open()
    conn, _ = srv.accept()
    t.write(b"\x10\x04\x01")
    assert conn.recv(3) == b"\x10\x04\x01"
    conn.sendall(b"\x12")
    assert t.read(1, timeout=WAIT_SECONDS) == b"\x12"
    assert t.read(1, timeout=0.1) == b""        # silence is an empty read, not an error
    conn.close()
    with pytest.raises(TransportError, match="断开"):
        t.read(1, timeout=2)
    t.close()
    srv.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFO")
def test_file_transport_writes_to_a_device_file(tmp_path: Any) -> None:
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))  # noqa: SIM115
    reader.start()
    t = FileTransport(str(fifo))
    t.open()
    t.write("请A001号".encode("gb18030"))
    t.close()
    reader.join(5)
    assert got == ["请A001号".encode("gb18030")]
    with pytest.raises(TransportError, match="打开失败"):
        FileTransport(str(tmp_path / "missing" / "lp0")).open()


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_serial_transport_over_a_pty() -> None:
    master, slave = os.openpty()
    t = SerialTransport(os.ttyname(slave), baudrate=9600)
    t.open()
    t.write(b"\xa5\xa5")
    assert os.read(master, 2) == b"\xa5\xa5"
    os.write(master, b"\xa0\x00")
    assert t.read(2, timeout=WAIT_SECONDS) == b"\xa0\x00"
    t.close()
    os.close(master)
    os.close(slave)
    with pytest.raises(TransportError, match="打开失败"):
        SerialTransport("/dev/does-not-exist").open()


class FakeUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    """One printer-like device (bulk OUT 0x01, bulk IN 0x81) that echoes a status byte."""

    def __init__(self, present: bool = True) -> None:
        self.present = present
        self.written = bytearray()
        self.replies = bytearray()
        self.configured: int | None = None

    def enumerate_devices(self) -> Any:
        if self.present:
            yield "dev0"

    def get_device_descriptor(self, dev: Any) -> Any:
        return SimpleNamespace(bLength=18, bDescriptorType=1, bcdUSB=0x200, bDeviceClass=0, bDeviceSubClass=0,
                               bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=0x0416, idProduct=0x5011,
                               bcdDevice=0x100, iManufacturer=0, iProduct=0, iSerialNumber=0,
                               bNumConfigurations=1, address=5, bus=1, port_number=1, port_numbers=(1,), speed=2)

    def get_configuration_descriptor(self, dev: Any, config: int) -> Any:
        return SimpleNamespace(bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1,
                               bConfigurationValue=1, iConfiguration=0, bmAttributes=0xC0, bMaxPower=50,
                               extra_descriptors=[])

    def get_interface_descriptor(self, dev: Any, intf: int, alt: int, config: int) -> Any:
        return SimpleNamespace(bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0,
                               bNumEndpoints=2, bInterfaceClass=7, bInterfaceSubClass=1, bInterfaceProtocol=2,
                               iInterface=0, extra_descriptors=[])

    def get_endpoint_descriptor(self, dev: Any, ep: int, intf: int, alt: int, config: int) -> Any:
        address = 0x01 if ep == 0 else 0x81
        return SimpleNamespace(bLength=7, bDescriptorType=5, bEndpointAddress=address, bmAttributes=2,
                               wMaxPacketSize=64, bInterval=0, bRefresh=0, bSynchAddress=0, extra_descriptors=[])

    def open_device(self, dev: Any) -> Any:
        return "handle"

    def close_device(self, handle: Any) -> None:
        return None

    def set_configuration(self, handle: Any, value: int) -> None:
        self.configured = value

    def get_configuration(self, handle: Any) -> int:
        return self.configured or 1

    def claim_interface(self, handle: Any, intf: int) -> None:
        return None

    def release_interface(self, handle: Any, intf: int) -> None:
        return None

    def bulk_write(self, handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
        if not self.present:
            raise usb.core.USBError("No such device", errno=19)
        self.written += bytes(data)
        if bytes(data) == b"\x10\x04\x04":
            self.replies += b"\x12"
        return len(data)

    def bulk_read(self, handle: Any, ep: int, intf: int, buff: array.array, timeout: int) -> int:
        n = min(len(buff), len(self.replies))
        if n == 0:
            raise usb.core.USBTimeoutError("timeout", errno=110)
        buff[:n] = array.array("B", self.replies[:n])
        del self.replies[:n]
        return n


def test_usb_bulk_transport_through_pyusb() -> None:
    backend = FakeUsbBackend()
    t = UsbTransport(0x0416, 0x5011, backend=backend)
    t.open()
    assert (t.out_ep, t.in_ep) == (0x01, 0x81) and backend.configured == 1
    t.write(b"\x1b@" + "示范镇".encode("gb18030"))
    t.write(b"\x10\x04\x04")
    assert t.read(1, timeout=WAIT_SECONDS) == b"\x12"
    assert t.read(1, timeout=0.05) == b""          # nothing more: a timeout is silence
    assert bytes(backend.written).startswith(b"\x1b@")
    backend.present = False                          # unplugged
    with pytest.raises(TransportError, match="发送失败"):
        t.write(b"x")
    t.close()
    with pytest.raises(TransportError, match="未找到设备"):
        UsbTransport(0x0416, 0x5011, backend=backend).open()


def test_usb_without_libusb_is_a_clear_error() -> None:
    import usb.core

    def no_backend(*a: Any, **k: Any) -> Any:
        raise usb.core.NoBackendError("No backend available")

    t = UsbTransport(0x0416, 0x5011)
    original = usb.core.find
    usb.core.find = no_backend
    try:
        with pytest.raises(TransportError, match="libusb"):
            t.open()
    finally:
        usb.core.find = original
