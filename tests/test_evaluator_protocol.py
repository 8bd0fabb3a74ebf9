"""The evaluator keypad wire protocol: golden bytes (docs/evaluator-protocol.md §8), the level
table, and the streaming parser's handling of noise, partial frames and bad checksums."""

from __future__ import annotations

import pytest
from hall.drivers.evaluator import protocol as P
from hall.drivers.evaluator.base import LEVELS
from hypothesis import given, settings
from hypothesis import strategies as st


def crc16_modbus_bitwise(data: bytes) -> int:
    """Reference CRC written from the catalogue definition, independent of the table version."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


GOLDEN = [
    (P.Heartbeat(), 1, "AA 55 03 FC 01 01 01 C1 C0"),
    (P.Identify(), 2, "AA 55 03 FC 01 02 02 81 31"),
    (P.Info(1, 5, "KP5 1.0"), 2, "AA 55 0C F3 01 02 83 01 05 4B 50 35 20 31 2E 30 12 E7"),
    (P.Prompt(0x0102, 30, "李明", "请评价"), 3,
     "AA 55 11 EE 01 03 10 02 01 1E 04 C0 EE C3 F7 C7 EB C6 C0 BC DB C7 AD"),
    (P.Ack(P.PROMPT, P.ST_OK, P.MODE_PROMPT), 3, "AA 55 06 F9 01 03 80 10 00 01 05 3A"),
    (P.Key("非常满意", 0x0102), 9, "AA 55 06 F9 01 09 81 01 02 01 CD A2"),
    (P.Key("非常不满意", 0), 10, "AA 55 06 F9 01 0A 81 05 00 00 08 C3"),
    (P.Ack(P.KEY, P.ST_KEY_NOT_PROMPTED, P.MODE_IDLE), 10, "AA 55 06 F9 01 0A 80 81 10 00 44 D6"),
    (P.Cancel(0x0102), 4, "AA 55 05 FA 01 04 11 02 01 F6 0F"),
    (P.Thanks(0x0102, 3), 5, "AA 55 06 F9 01 05 12 02 01 03 81 D6"),
]


def frames_of(data: bytes) -> list[P.Frame]:
    return P.FrameParser().feed(data, now=0.0)


def test_crc_check_value_and_reference() -> None:
    assert P.crc16_modbus(b"123456789") == 0x4B37
    for data in (b"", b"\x00", b"\xaa\x55", bytes(range(256))):
        assert P.crc16_modbus(data) == crc16_modbus_bitwise(data)


@pytest.mark.parametrize(("msg", "seq", "wire"), GOLDEN, ids=[type(m).__name__ + str(s) for m, s, _ in GOLDEN])
def test_golden_frames_encode_and_decode(msg: P.Message, seq: int, wire: str) -> None:
    data = bytes.fromhex(wire)
    assert P.encode(msg, addr=1, seq=seq) == data
    (frame,) = frames_of(data)
    assert (frame.addr, frame.seq) == (1, seq)
    assert P.decode(frame) == msg
    # the reference CRC agrees with the bytes in the spec
    assert crc16_modbus_bitwise(data[2:-2]) == data[-2] | data[-1] << 8


def test_level_table_is_explicit_and_ordered() -> None:
    assert P.WIRE_LEVELS == {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
    assert tuple(P.WIRE_LEVELS[i] for i in range(1, 6)) == LEVELS
    for code, name in P.WIRE_LEVELS.items():
        frame = frames_of(P.encode(P.Key(name, 7)))[0]
        assert frame.payload[0] == code


@pytest.mark.parametrize(("cmd", "payload"), [
    (P.KEY, b"\x00\x01\x00"),            # level 0
    (P.KEY, b"\x06\x01\x00"),            # level 6
    (P.KEY, b"\x01\x01"),                # short
    (P.PROMPT, b"\x00\x00\x1e\x00"),     # token 0
    (P.PROMPT, b"\x01\x00\x00\x00"),     # timeout 0
    (P.PROMPT, b"\x01\x00\x1e\x09ab"),   # name longer than the payload
    (P.ACK, b"\x01"),
    (P.HEARTBEAT, b"\x00"),
    (0x7E, b""),                          # unknown command
])
def test_malformed_payloads_are_protocol_errors(cmd: int, payload: bytes) -> None:
    (frame,) = frames_of(P.encode_frame(1, 1, cmd, payload))
    with pytest.raises(P.ProtocolError):
        P.decode(frame)


def test_text_is_gb2312_cut_at_a_character_boundary() -> None:
    assert P.encode_text("请您对本次服务进行评价", 40) == "请您对本次服务进行评价".encode("gb2312")
    assert P.encode_text("欧阳娜娜娜娜娜娜娜", 16) == "欧阳娜娜娜娜娜娜".encode("gb2312")
    assert P.encode_text("李明", 3) == "李".encode("gb2312")
    msg = P.Prompt(5, 30, "欧阳娜娜娜娜娜娜娜娜", "x" * 60)
    decoded = P.decode(frames_of(P.encode(msg))[0])
    assert isinstance(decoded, P.Prompt)
    assert decoded.name == "欧阳娜娜娜娜娜娜" and decoded.text == "x" * 40
    assert len(P.encode(msg)) <= P.MAX_FRAME


def test_noise_around_frames_is_dropped_and_counted() -> None:
    key = P.encode(P.Key("满意", 3), seq=1)
    hb = P.encode(P.Ack(P.HEARTBEAT, 0, 0), seq=2)
    parser = P.FrameParser()
    frames = parser.feed(b"\x00\x13\xff" + key + b"\x55\x55\xaa\x00" + hb + b"\x01", now=0.0)
    assert [P.decode(f) for f in frames] == [P.Key("满意", 3), P.Ack(P.HEARTBEAT, 0, 0)]
    assert parser.stats.frames == 2
    assert parser.stats.noise_bytes == 3 + 4 + 1
    assert parser.stats.dropped == 0


def test_frames_split_byte_by_byte_are_reassembled() -> None:
    data = b"".join(P.encode(P.Key(level, 9), seq=i) for i, level in enumerate(LEVELS))
    parser = P.FrameParser()
    out: list[P.Frame] = []
    for i, b in enumerate(data):
        out += parser.feed(bytes([b]), now=i * 0.001)
    assert [P.decode(f) for f in out] == [P.Key(level, 9) for level in LEVELS]
    assert parser.stats.noise_bytes == 0


def test_bad_checksum_is_counted_and_a_frame_inside_it_is_found() -> None:
    good = P.encode(P.Key("不满意", 4), seq=7)
    bad = bytearray(P.encode(P.Key("非常满意", 4), seq=6))
    bad[-1] ^= 0xFF
    parser = P.FrameParser()
    assert parser.feed(bytes(bad), now=0.0) == []
    assert parser.stats.bad_checksum == 1
    # a false sync + header whose claimed length swallows a real frame: the real one is still found
    fake = b"\xaa\x55\x0a\xf5\x01\x01\x81"
    frames = parser.feed(fake + good, now=0.01)
    assert [P.decode(f) for f in frames] == [P.Key("不满意", 4)]
    assert parser.stats.bad_checksum == 2


def test_bad_length_header_is_counted() -> None:
    parser = P.FrameParser()
    assert parser.feed(b"\xaa\x55\x06\x00\x01\x01\x81\x01\x00\x00\x00\x00", now=0.0) == []
    assert parser.stats.bad_length == 1
    assert parser.feed(b"\xaa\x55\x50\xaf", now=0.0) == []       # LEN 80 > 67
    assert parser.stats.bad_length == 2


def test_partial_frame_is_dropped_after_the_gap() -> None:
    key = P.encode(P.Key("满意", 3), seq=1)
    parser = P.FrameParser(gap=0.1)
    assert parser.feed(key[:6], now=0.0) == []
    assert parser.pending == 6
    # the rest arrives too late: the start is dropped as partial, the tail is noise
    assert parser.feed(key[6:], now=0.5) == []
    assert parser.stats.partial == 1
    assert parser.pending == 0
    assert [P.decode(f) for f in parser.feed(key, now=0.6)] == [P.Key("满意", 3)]


def test_whole_frame_behind_a_cut_off_one_is_recovered_on_expiry() -> None:
    # a cut-off frame claims 20 more bytes than arrive; a whole frame follows at once
    cut = P.encode(P.Prompt(9, 30, "李明", "请您对本次服务进行评价"), seq=3)[:8]
    key = P.encode(P.Key("基本满意", 9), seq=4)
    parser = P.FrameParser(gap=0.1)
    assert parser.feed(cut + key, now=0.0) == []        # still waiting for the long one
    frames = parser.expire(now=0.2)
    assert [P.decode(f) for f in frames] == [P.Key("基本满意", 9)]
    assert parser.stats.partial == 1
    assert parser.pending == 0


@settings(max_examples=200, deadline=None)
@given(level=st.sampled_from(LEVELS), token=st.integers(0, 0xFFFF), seq=st.integers(0, 255),
       pos=st.integers(0, 11), flip=st.integers(1, 255))
def test_any_single_corrupted_byte_never_yields_a_frame(level: str, token: int, seq: int, pos: int,
                                                        flip: int) -> None:
    data = bytearray(P.encode(P.Key(level, token), seq=seq))
    data[pos] ^= flip
    parser = P.FrameParser()
    assert parser.feed(bytes(data), now=0.0) == []
    assert parser.expire(now=1.0) == []
    assert parser.stats.frames == 0


@settings(max_examples=200, deadline=None)
@given(before=st.binary(max_size=40), after=st.binary(max_size=40), level=st.sampled_from(LEVELS),
       cuts=st.lists(st.integers(1, 8), max_size=10))
def test_a_frame_in_noise_is_found_whatever_the_chunking(before: bytes, after: bytes, level: str,
                                                         cuts: list[int]) -> None:
    before = before.replace(b"\xaa", b"\x00")     # noise free of sync bytes cannot hide or fake a frame
    after = after.replace(b"\xaa", b"\x00")
    data = before + P.encode(P.Key(level, 77), seq=5) + after
    parser = P.FrameParser()
    out: list[P.Frame] = []
    i = 0
    for n in cuts:
        out += parser.feed(data[i:i + n], now=0.0)
        i += n
    out += parser.feed(data[i:], now=0.0)
    assert [P.decode(f) for f in out] == [P.Key(level, 77)]
    assert parser.stats.noise_bytes == len(before) + len(after)


@settings(max_examples=100, deadline=None)
@given(noise=st.binary(max_size=300))
def test_arbitrary_noise_never_crashes_and_is_accounted(noise: bytes) -> None:
    parser = P.FrameParser()
    frames = parser.feed(noise, now=0.0) + parser.expire(now=1.0)
    for f in frames:       # a frame from pure noise needs a matching LEN/~LEN and CRC; decoding may still fail
        try:
            P.decode(f)
        except P.ProtocolError:
            pass
    assert parser.pending == 0


@settings(max_examples=100, deadline=None)
@given(noise=st.binary(max_size=20), level=st.sampled_from(LEVELS), name=st.text("李王张明芳", max_size=8))
def test_reading_exactly_what_the_parser_wants_ends_on_frame_boundaries(noise: bytes, level: str,
                                                                        name: str) -> None:
    noise = noise.replace(b"\xaa", b"\x01")
    frames = [P.encode(P.Prompt(3, 30, name, "请评价"), seq=1), P.encode(P.Key(level, 3), seq=2)]
    stream = noise + b"".join(frames)
    parser = P.FrameParser()
    got: list[tuple[int, P.Frame]] = []
    i = 0
    while i < len(stream):
        n = parser.wanted()
        assert n >= 1
        chunk, i = stream[i:i + n], i + n
        got += [(i, f) for f in parser.feed(chunk, now=0.0)]
    ends = [len(noise) + len(frames[0]), len(stream)]
    assert [end for end, _ in got] == ends          # each frame completed by the read that ended it
    assert [P.decode(f) for _, f in got] == [P.Prompt(3, 30, name, "请评价"), P.Key(level, 3)]
