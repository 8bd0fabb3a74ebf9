"""`kiosk emulate printer`: a technician's stand-alone printer on a TCP port."""

from __future__ import annotations

import re
import socket

from hall.drivers.printer.ticket import TicketLayout
from hall.security import redact_text

from tests.cli_support import emulator_cli

PAYLOAD = {
    "ticket": {"id": 3}, "number": "A003", "category": "A", "category_name": "司法信访、应急、城管",
    "lane": "normal", "ahead": 1, "wait_minutes": 6, "issued_at": "2026-11-25T09:10:00+08:00",
    "no_show_rule": "过号作废，请重新取号",
}


def test_emulate_printer_prints_tickets_and_takes_fault_commands() -> None:
    with emulator_cli("printer", "--port", "0", "--duration", "20") as cli:
        wait_for = cli.wait_for
        m = re.search(r"tcp://127\.0\.0\.1:(\d+)", wait_for(r"tcp://"))
        assert m is not None
        port = int(m.group(1))
        data = TicketLayout.from_options({}, hall_name="示范镇便民服务中心",
                                         default_qr_base="http://hall/r/", redact=redact_text).ticket(PAYLOAD)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            wait_for(r"A003")
            wait_for(r"您前面还有 1 人等候")
            cli.send("paper out")
            wait_for(r"缺纸")
            s.sendall(b"\x10\x04\x04")
            assert s.recv(1) == b"\x7e"
    assert cli.proc.returncode == 0
