"""ID-card reader emulator: a GA 467 security module with a card slot, behind a pty or TCP.

It answers the host's frames as a reader does: SAM status and reset `00 00 90`;
find card `00 00 9F` while a card lies on it that has not been read yet, else
`00 00 80` (a reader finds a card again only after it was lifted); select
card `00 00 90`; read base information `00 00 90` with the 256-byte text
block and a 1,024-byte stand-in photo block (zeros: the real one is
WLT-compressed). Each connection has its own parser, so noise or a cut frame
from the host is dropped the same way the driver drops them.

Actions and faults (`fault(text)`, typed on `kiosk emulate idcard` or sent
from /tech): `place NAME SEX BIRTH ID`, `remove`, `nosam on|off` (every answer
`00 00 60`), `badsum` (the next answer's checksum is wrong), `pull` (the next
read sends half its answer and the card is gone), `noise` (line noise before
the next answer), `silent on|off`, `unplug` / `replug` (TCP).
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from hall.drivers.emulators.channel import StreamEmulator
from hall.drivers.emulators.faults import FaultCommands, cable, switch
from hall.drivers.idcard import protocol as P
from hall.drivers.idcard.record import CardRecord, encode_text, id_number_valid, mask_id, mask_name

NOISE = bytes([0x00, 0xFF, 0xAA, 0xAA, 0x13, 0x96, 0x69, 0x55, 0xAA])   # a false half-preamble included
SEXES = {"男": "1", "女": "2", "1": "1", "2": "2"}

FAULT_HELP = """命令 / commands:
  place 姓名 性别 出生日期 身份证号   放卡 / place a card, e.g. place 张三 男 19800101 110101198001010018
  remove            取走卡片 / lift the card
  nosam on|off      安全模块故障（应答 00 00 60）/ SAM fault
  badsum            下一应答校验和错误 / next answer with a bad checksum
  pull              读卡中途拿走卡片 / pull the card mid-read
  noise             下一应答前的线路噪声 / line noise
  silent on|off     不应答 / no answers
  unplug / replug   拔出 / 插回（TCP）"""


def make_card(name: str, sex: str, birth: str, id_number: str) -> CardRecord:
    """A card from the four things a technician types; ValueError (Chinese) names what is wrong."""
    name = name.strip()
    if not 1 <= len(name) <= 15:
        raise ValueError("姓名须为 1–15 个字")
    code = SEXES.get(sex.strip())
    if code is None:
        raise ValueError(f"性别须为 男 或 女，而不是 {sex!r}")
    if len(birth) != 8 or not birth.isdigit():
        raise ValueError("出生日期须为 8 位数字，例如 19800101")
    number = id_number.strip().upper()
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise ValueError("身份证号须为 18 位（最后一位可为 X）")
    return CardRecord(name=name, sex=code, ethnicity="01", birth=birth, address="某某省某某县某某镇某某村1号",
                      id_number=number, authority="某某县公安局", valid_from="20200101", valid_to="20400101")


class IdCardEmulator(StreamEmulator):
    kind = "idcard"
    thread_name = "idcard-emu"
    pty_wake = 1.0      # an idle pty read looks at the stop flag this often

    def __init__(self, *, name: str = "idcard") -> None:
        super().__init__()
        self.name = name
        self.card: CardRecord | None = None
        self.card_read = False          # read during this placement: not found again until lifted
        self.placements = 0
        self.reads = 0
        self.nosam = False
        self.silent = False
        self.badsum_next = 0
        self.pull_next = False
        self.noise_next = False
        self.received: deque[dict[str, Any]] = deque(maxlen=50)
        self.stats = P.ParserStats()

    # ------------------------------------------------------------ actions
    def place(self, card: CardRecord) -> None:
        with self._lock:
            self.card, self.card_read = card, False
            self.placements += 1

    def remove(self) -> None:
        with self._lock:
            self.card, self.card_read = None, False

    def fault(self, command: str) -> str:
        commands = FaultCommands({
            "place": self._fault_place, "remove": self._fault_remove,
            "nosam": self._fault_nosam, "silent": self._fault_silent, "badsum": self._fault_badsum,
            "pull": self._fault_pull, "noise": self._fault_noise, **cable(self),
        }, FAULT_HELP)
        return commands(command)

    def _fault_place(self, args: list[str]) -> str:
        if len(args) != 4:
            raise ValueError("放卡需要：姓名 性别 出生日期 身份证号")
        card = make_card(*args)
        self.place(card)
        note = "" if id_number_valid(card.id_number) else "（校验位不符，仍按卡上内容读出）"
        return f"已放卡：{mask_name(card.name)} {mask_id(card.id_number)}{note}"

    def _fault_remove(self, _args: list[str]) -> str:
        self.remove()
        return "已取走卡片"

    def _fault_nosam(self, args: list[str]) -> str:
        self.nosam = switch(args)
        return f"安全模块故障：{'开' if self.nosam else '关'}"

    def _fault_silent(self, args: list[str]) -> str:
        self.silent = switch(args)
        return f"不应答：{'开' if self.silent else '关'}"

    def _fault_badsum(self, _args: list[str]) -> str:
        self.badsum_next += 1
        return "下一应答的校验和将出错"

    def _fault_pull(self, _args: list[str]) -> str:
        self.pull_next = True
        return "下次读卡时中途拿走卡片"

    def _fault_noise(self, _args: list[str]) -> str:
        self.noise_next = True
        return "下一应答前将插入线路噪声"

    def audit_text(self, command: str) -> str:
        """The fault command as the audit trail keeps it: a placed card's name and number masked."""
        words = command.split()
        if len(words) == 5 and words[0].lower() == "place":
            return f"place {mask_name(words[1])} {words[2]} ******** {mask_id(words[4])}"
        return command

    def view(self) -> dict[str, Any]:
        card = self.card
        return {
            "name": self.name, "kind": self.kind, "url": self.url, "unplugged": self.unplugged,
            "card": None if card is None else {"name": mask_name(card.name), "sex": card.sex_name,
                                               "id_masked": mask_id(card.id_number)},
            "card_read": self.card_read, "placements": self.placements, "reads": self.reads,
            "nosam": self.nosam, "silent": self.silent, "badsum": self.badsum_next, "pull": self.pull_next,
            "connections": self.connections, "received": list(self.received)[-8:], "dropped": self.stats.as_dict(),
        }

    # ------------------------------------------------------------ protocol
    def answer(self, payload: bytes) -> bytes:
        """The bytes the reader sends back for one host frame's payload (b"" for none)."""
        try:
            cmd = P.decode_command(payload)
        except P.ProtocolError:
            return P.encode_answer(P.ST_BAD_LENGTH)
        with self._lock:
            self.received.append({**P.describe_command(cmd), "at": round(time.time(), 3)})
            if self.silent:
                return b""
            out = self._answer(cmd)
            if self.badsum_next and out:
                self.badsum_next -= 1
                out = out[:-1] + bytes([out[-1] ^ 0x5A])
            if self.noise_next and out:
                self.noise_next = False
                out = NOISE + out
            return out

    def _answer(self, cmd: P.Command) -> bytes:
        if self.nosam:
            return P.encode_answer(P.ST_SAM_SELF_TEST_FAILED)
        c = cmd.command
        if c in (P.RESET_SAM, P.SAM_STATUS):
            return P.encode_answer(P.ST_OK)
        if c == P.FIND_CARD:
            if self.card is None or self.card_read:
                return P.encode_answer(P.ST_NO_CARD, bytes(4))
            return P.encode_answer(P.ST_CARD_FOUND, bytes(4))
        if c == P.SELECT_CARD:
            if self.card is None:
                return P.encode_answer(P.ST_SELECT_FAILED, bytes(8))
            return P.encode_answer(P.ST_OK, bytes(8))
        if c == P.READ_BASE:
            if self.card is None:
                return P.encode_answer(P.ST_READ_FAILED)
            full = P.encode_answer(P.ST_OK, P.base_info_data(encode_text(self.card), bytes(P.PHOTO_LENGTH)))
            if self.pull_next:                    # the card leaves while its answer is on the line
                self.pull_next = False
                self.card, self.card_read = None, False
                return full[:len(full) // 3]
            self.card_read = True
            self.reads += 1
            return full
        return P.encode_answer(P.ST_BAD_COMMAND)

    def _receive(self, parser: P.FrameParser, data: bytes, send: Callable[[bytes], None]) -> None:
        for payload in parser.feed(data):
            out = self.answer(payload)
            if out:
                send(out)
        with self._lock:
            self.stats = parser.stats

    # ------------------------------------------------------------ channels
    def _session(self, chunks: Iterator[bytes], send: Callable[[bytes], None]) -> None:
        parser = P.FrameParser()
        for data in chunks:
            with contextlib.suppress(OSError):      # the host went mid-answer: the next read ends the line
                self._receive(parser, data, send)
