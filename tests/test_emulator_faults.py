"""The fault-command grammar every emulator shares (drivers/emulators/faults.py), and that the
emulators built on it still answer their own words."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hall.drivers.emulators.faults import FaultCommands, baud, cable, switch


class Cable:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.baud: int | None = None

    def unplug(self) -> None:
        self.calls.append("unplug")

    def replug(self) -> None:
        self.calls.append("replug")


def recorder(into: list[list[str]], answer: str) -> Callable[[list[str]], str]:
    def run(args: list[str]) -> str:
        into.append(args)
        return answer
    return run


@pytest.mark.parametrize(("args", "on"), [
    ([], True), (["on"], True), (["ON"], True), (["1"], True), (["yes"], True),
    (["off"], False), (["Off"], False), (["0"], False), (["false"], False), (["no"], False),
])
def test_switch_reads_on_unless_told_off(args: list[str], on: bool) -> None:
    assert switch(args) is on


def test_table_runs_the_word_and_passes_its_arguments() -> None:
    seen: list[list[str]] = []
    commands = FaultCommands({"noise": recorder(seen, "ok")}, "HELP")
    assert commands("  NOISE 16  Ab ") == "ok"
    assert seen == [["16", "Ab"]]          # the word is case-insensitive, arguments stay as typed
    assert commands("   ") == "HELP"
    assert commands("what") == "HELP"


def test_lower_whole_rest_otherwise_and_bad_args() -> None:
    got: list[list[str]] = []
    lower = FaultCommands({"x": recorder(got, "x")}, "H", lower=True)
    lower("X Ab")
    assert got == [["ab"]]
    rest = FaultCommands({"payload": lambda args: "|".join(args)}, "H", whole_rest=True)
    assert rest("payload 预约  码 @gb18030") == "预约  码 @gb18030"     # blanks inside the text kept
    named = FaultCommands({}, "H", otherwise=lambda head, args: f"{head}:{args}")
    assert named("Nope 1") == "nope:['1']"
    strict = FaultCommands({"n": lambda args: str(int(args[0]))}, "H")
    with pytest.raises(ValueError):
        strict("n abc")
    lenient = FaultCommands({"n": lambda args: str(int(args[0]))}, "H", bad_args="参数有误")
    assert lenient("n abc") == "参数有误"


def test_cable_and_baud_commands() -> None:
    dev = Cable()
    commands = FaultCommands({**cable(dev, "拔", "插"), **baud(dev)}, "H")
    assert [commands("unplug"), commands("replug")] == ["拔", "插"]
    assert dev.calls == ["unplug", "replug"]
    assert commands("baud 9600") == "按 9600 波特率接收" and dev.baud == 9600
    assert commands("baud off") == "不限速" and dev.baud is None


def test_emulators_answer_in_their_own_words() -> None:
    from hall.drivers.emulators.idcard import IdCardEmulator
    from hall.drivers.emulators.led import LedEmulator
    from hall.drivers.emulators.printer import PrinterEmulator

    led, printer, idcard = LedEmulator(), PrinterEmulator(), IdCardEmulator()
    try:
        led.start_tcp()
        printer.start_tcp()
        idcard.start_tcp()
        assert led.fault("silence on") == "不再应答（控制卡死机）" and led.silent
        assert led.fault("silence off") == "恢复应答" and not led.silent
        assert led.fault("corrupt x").startswith("参数有误")
        assert led.fault("bogus").startswith("不认识的命令 'bogus'")
        assert printer.fault("unplug") == "已断开（拒绝连接）" and printer.unplugged
        assert printer.fault("replug") == "已重新连接" and not printer.unplugged
        assert printer.fault("cover open") == "纸仓盖已打开（脱机）" and printer.cover_open
        assert printer.fault("baud fast").startswith("参数有误")       # words, not a Python error
        assert idcard.fault("nosam on") == "安全模块故障：开" and idcard.nosam
        assert idcard.fault("nosam off") == "安全模块故障：关" and not idcard.nosam
        assert idcard.fault("unplug") == "已拔出 / unplugged" and idcard.unplugged
        assert idcard.fault("") == idcard.fault("what")      # the help
    finally:
        for emu in (led, printer, idcard):
            emu.stop()
