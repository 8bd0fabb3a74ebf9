"""`kiosk emulate idcard`: a stand-alone reader emulator on TCP, cards placed by typed commands."""

from __future__ import annotations

import re

from hall.drivers.base import DeviceState
from hall.drivers.idcard.device import IdCardReader
from hall.drivers.transport import open_transport

from tests.cli_support import emulator_cli
from tests.waiting import wait_until


def test_emulate_idcard_serves_the_driver_and_takes_a_card_from_stdin() -> None:
    events: list[dict[str, object]] = []
    with emulator_cli("idcard", "--port", "0", "--duration", "30") as cli:
        wait_for, send, seen = cli.wait_for, cli.send, cli.seen
        reader = None
        try:
            m = re.search(r'url = "(socket://127\.0\.0\.1:\d+)"', wait_for(r'kind = "idcard"'))
            assert m is not None, seen
            reader = IdCardReader("cli", open_transport(m.group(1)), publish=lambda k, d: events.append(d),
                                  hash_key=b"k" * 32, poll_every=0.05)
            reader.start()
            assert wait_until(lambda: reader is not None and reader.state == DeviceState.READY)
            send("place 王五 男 19491231 11010519491231002X")
            wait_for(r"已放卡：王\* 110\*{11}002X")
            assert wait_until(lambda: len(events) == 1)
            wait_for(r"已读")
            assert events[0]["name"] == "王*"
        finally:
            if reader is not None:
                reader.stop()
    assert cli.proc.returncode == 0
    assert "11010519491231002X" not in "".join(seen) and "王五" not in "".join(seen)
