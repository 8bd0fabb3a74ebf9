"""The ESC/POS reader and the printer emulator over a real TCP socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hall.drivers.emulators.printer import PrinterEmulator
from hall.drivers.printer.render import EscposReader, render
from hall.drivers.printer.ticket import TicketLayout
from hall.security import redact_text

from tests.waiting import WAIT_SECONDS

PAYLOAD = {
    "ticket": {"id": 7}, "number": "E012", "category": "E", "category_name": "财政惠农、农村综合",
    "lane": "normal", "ahead": 2, "wait_minutes": 9, "issued_at": "2026-11-25T10:02:00+08:00",
    "no_show_rule": "过号作废，请重新取号",
}


def ticket_bytes(**options: object) -> bytes:
    return TicketLayout.from_options(options, hall_name="示范镇便民服务中心",
                                     default_qr_base="http://hall/r/", redact=redact_text).ticket(PAYLOAD)


def test_reader_splits_jobs_at_cuts_and_reports_status_requests() -> None:
    one = ticket_bytes()
    reader = EscposReader()
    requests = reader.feed(b"\x10\x04\x01" + one + b"\x10\x04\x04" + one)
    assert requests == [1, 4]
    assert len(reader.jobs) == 2 and all(j.cut for j in reader.jobs)
    assert reader.jobs[0].raw.startswith(b"\x10\x04\x01\x1b@")
    assert reader.unknown == 0


def test_any_chunking_reads_the_same() -> None:
    data = ticket_bytes() + ticket_bytes(qr="image")
    whole = [j.text for j in render(data)]
    reader = EscposReader()
    for i in range(len(data)):          # one byte at a time: hanzi and commands split everywhere
        reader.feed(data[i:i + 1])
    assert [j.text for j in reader.jobs] == whole
    assert "财政惠农、农村综合" in whole[0] and "[二维码图片] http://hall/r/7" in whole[1]


def test_strict_mode_shows_missing_chinese_mode() -> None:
    without_fs = b"\x1b@" + "您好".encode("gb18030") + b"\n\x1dV\x00"
    assert "您好" not in render(without_fs, chinese_default=False)[0].text
    assert "您好" in render(b"\x1b@\x1c&" + without_fs[2:], chinese_default=False)[0].text


def test_gb18030_four_byte_characters_decode() -> None:
    rare = "𠀀"   # outside GBK: a 4-byte GB18030 sequence
    data = b"\x1c&" + rare.encode("gb18030") + b"\n"
    assert len(rare.encode("gb18030")) == 4
    assert render(data)[0].text == rare


def test_a_job_without_cut_ends_at_the_next_init() -> None:
    data = b"\x1b@\x1c&" + "第一张".encode("gb18030") + b"\n" + b"\x1b@" + "第二张".encode("gb18030") + b"\n"
    jobs = render(data)
    assert [j.cut for j in jobs] == [False, False]
    assert "第一张" in jobs[0].text and "第二张" in jobs[1].text


# ------------------------------------------------------------------ over TCP
@pytest.fixture
def emu() -> Iterator[PrinterEmulator]:
    e = PrinterEmulator()
    e.start_tcp()
    yield e
    e.stop()


def ask(port: int, request: bytes, n: int, timeout: float = WAIT_SECONDS) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        buf = b""
        try:
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    break
                buf += chunk
        except TimeoutError:
            pass
        return buf


@pytest.mark.parametrize(
    ("command", "reply"),
    [("paper ok", b"\x12\x12\x12"), ("paper near", b"\x12\x1e\x12"), ("paper out", b"\x1a\x7e\x32"),
     ("cover open", b"\x1a\x12\x16")],
)
def test_status_replies_over_tcp(emu: PrinterEmulator, command: str, reply: bytes) -> None:
    emu.fault(command)
    assert emu.port is not None
    assert ask(emu.port, b"\x10\x04\x01\x10\x04\x04\x10\x04\x02", 3) == reply


def test_records_and_renders_tickets_over_tcp(emu: PrinterEmulator) -> None:
    assert emu.port is not None
    with socket.create_connection(("127.0.0.1", emu.port)) as s:
        s.sendall(ticket_bytes())
        s.sendall(ticket_bytes())
        assert emu.wait_for_jobs(2, WAIT_SECONDS)
    last = emu.last_jobs(2)
    assert len(last) == 2 and last[0]["cut"] and "E012" in last[0]["text"]
    assert last[0]["qr"] == ["http://hall/r/7"]
    assert emu.status()["received_bytes"] == 2 * len(ticket_bytes())


def test_silence_and_unplug(emu: PrinterEmulator) -> None:
    assert emu.port is not None
    port = emu.port
    emu.fault("silence on")
    assert ask(port, b"\x10\x04\x04", 1, timeout=0.3) == b""     # short on purpose: a silent printer must not answer
    emu.fault("silence off")
    emu.fault("unplug")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    emu.fault("replug")
    assert emu.port == port
    assert ask(port, b"\x10\x04\x04", 1) == b"\x12"


def test_paper_runs_out_after_n_tickets(emu: PrinterEmulator) -> None:
    assert emu.fault("paper 4") == "纸卷剩余 4 张"
    assert emu.port is not None
    with socket.create_connection(("127.0.0.1", emu.port)) as s:
        s.sendall(ticket_bytes())
        assert emu.wait_for_jobs(1, WAIT_SECONDS)
        assert emu.paper == "near_end"
        for _ in range(4):
            s.sendall(ticket_bytes())
        assert emu.wait_for_jobs(5, WAIT_SECONDS)
    jobs = emu.last_jobs(5)[::-1]
    assert [j["paper_out"] for j in jobs] == [False, False, False, False, True]
    assert jobs[-1]["text"].startswith("（缺纸：此单未出纸）")


def test_unknown_fault_command_lists_the_commands(emu: PrinterEmulator) -> None:
    assert "paper ok|near|out|N" in emu.fault("jam")


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="pty needs POSIX")
def test_pty_channel_answers_status_like_a_serial_printer() -> None:
    import serial

    e = PrinterEmulator()
    path = e.start_pty()
    try:
        with serial.serial_for_url(path, baudrate=9600, timeout=1.0) as port:
            port.write(b"\x10\x04\x04")
            assert port.read(1) == b"\x12"
            port.write(ticket_bytes())
            assert e.wait_for_jobs(1, WAIT_SECONDS)
        assert "E012" in e.last_jobs(1)[0]["text"]
    finally:
        e.stop()


def test_a_long_lived_connection_does_not_keep_every_job() -> None:
    """The soak found it: the per-connection reader kept every parsed job, on top of the bounded history."""
    from hall.drivers.emulators.printer import PrinterEmulator

    emu = PrinterEmulator(keep_jobs=5)
    reader = emu._new_reader()
    for n in range(50):
        emu._receive(reader, f"ticket {n}\n".encode() + b"\x1dV\x00")   # text, then a full cut
    assert len(emu.jobs) == 5 and "ticket 49" in emu.jobs[-1].text
    assert reader.jobs == []
