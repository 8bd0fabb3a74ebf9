"""GA 467 framing and the base-information block, byte by byte."""

from __future__ import annotations

import pytest
from hall.drivers.idcard import protocol as P
from hall.drivers.idcard.record import (
    TEXT_LENGTH,
    CardRecord,
    RecordError,
    encode_text,
    id_hash,
    id_number_valid,
    parse_text,
)

H = bytes.fromhex

# Frames as readers' documentation and public implementations give them.
COMMANDS = [
    (P.RESET_SAM, "AA AA AA 96 69 00 03 10 FF EC"),
    (P.SAM_STATUS, "AA AA AA 96 69 00 03 11 FF ED"),
    (P.FIND_CARD, "AA AA AA 96 69 00 03 20 01 22"),
    (P.SELECT_CARD, "AA AA AA 96 69 00 03 20 02 21"),
    (P.READ_BASE, "AA AA AA 96 69 00 03 30 01 32"),
]

ANSWERS = [
    (P.ST_OK, b"", "AA AA AA 96 69 00 04 00 00 90 94"),
    (P.ST_CARD_FOUND, bytes(4), "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"),
    (P.ST_NO_CARD, bytes(4), "AA AA AA 96 69 00 08 00 00 80 00 00 00 00 88"),
    (P.ST_OK, bytes(8), "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"),
    (P.ST_SAM_SELF_TEST_FAILED, b"", "AA AA AA 96 69 00 04 00 00 60 64"),
]

CARD = CardRecord(name="欧阳娜娜", sex="2", ethnicity="03", birth="19491231", address="北京市东城区某某胡同1号",
                  id_number="11010519491231002X", authority="北京市公安局东城分局", valid_from="20150101",
                  valid_to="长期")


@pytest.mark.parametrize(("command", "wire"), COMMANDS)
def test_commands_encode_to_known_frames(command: tuple[int, int], wire: str) -> None:
    assert P.encode_command(command) == H(wire)


@pytest.mark.parametrize(("status", "data", "wire"), ANSWERS)
def test_answers_encode_and_parse(status: int, data: bytes, wire: str) -> None:
    assert P.encode_answer(status, data) == H(wire)
    parser = P.FrameParser()
    (payload,) = parser.feed(H(wire))
    ans = P.decode_answer(payload)
    assert (ans.status, ans.data) == (status, data)
    assert ans.ok == (status in (P.ST_OK, P.ST_CARD_FOUND))


def test_every_status_has_a_chinese_name_and_unknown_ones_say_so() -> None:
    for code in (0x90, 0x91, 0x9F, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41, 0x47, 0x60,
                 0x66, 0x80, 0x81):
        name = P.status_name(code)
        assert name and not name.startswith("未知状态")
    assert P.status_name(0x77) == "未知状态 0x77"
    assert "00 00 41" in P.Answer(H("000041"), b"").describe()


def test_checksum_error_is_dropped_and_counted_and_next_frame_read() -> None:
    good = P.encode_answer(P.ST_OK)
    bad = good[:-1] + bytes([good[-1] ^ 1])
    parser = P.FrameParser()
    assert parser.feed(bad + good) == [H("000090")]
    assert parser.stats.bad_checksum == 1
    assert parser.stats.frames == 1


def test_resync_after_noise_and_false_preambles() -> None:
    good = P.encode_answer(P.ST_CARD_FOUND, bytes(4))
    noise = H("00 FF AA AA 13 96 69 AA AA AA 96")       # two half preambles
    parser = P.FrameParser()
    assert parser.feed(noise) == []
    assert parser.feed(good) == [H("00009F00000000")]
    assert parser.stats.noise_bytes > 0


def test_impossible_length_is_skipped() -> None:
    junk = P.PREAMBLE + H("FF FF 00")
    parser = P.FrameParser()
    assert parser.feed(junk + P.encode_answer(P.ST_OK)) == [H("000090")]
    assert parser.stats.bad_length == 1


def test_frames_split_byte_by_byte_and_wanted_counts_down() -> None:
    wire = P.encode_answer(P.ST_OK, bytes(8))
    parser = P.FrameParser()
    out: list[bytes] = []
    for i, b in enumerate(wire):
        if i >= 7:
            assert parser.wanted() == len(wire) - i
        out += parser.feed(bytes([b]))
    assert out == [H("000090") + bytes(8)]
    assert parser.wanted() == len(P.PREAMBLE)


def test_base_information_answer_round_trip() -> None:
    text = encode_text(CARD)
    assert len(text) == TEXT_LENGTH == 256
    photo = bytes(range(256)) * 4
    wire = P.encode_answer(P.ST_OK, P.base_info_data(text, photo))
    assert wire[5:7] == H("0508")             # 3 status + 4 lengths + 256 + 1024 + checksum
    (payload,) = P.FrameParser().feed(wire)
    ans = P.decode_answer(payload)
    got_text, got_photo = P.split_base_info(ans.data)
    assert got_photo == photo
    rec = parse_text(got_text)
    assert rec == CARD
    assert (rec.sex_name, rec.ethnicity_name) == ("女", "回")


def test_text_block_fields_sit_at_their_offsets() -> None:
    text = encode_text(CARD)
    assert text[0:8].decode("utf-16-le") == "欧阳娜娜"
    assert text[30:32].decode("utf-16-le") == "2"
    assert text[32:36].decode("utf-16-le") == "03"
    assert text[36:52].decode("utf-16-le") == "19491231"
    assert text[122:158].decode("utf-16-le") == "11010519491231002X"
    assert text[204:208].decode("utf-16-le") == "长期"
    assert text[220:256] == " ".encode("utf-16-le") * 18


def test_short_or_broken_base_information_is_refused() -> None:
    with pytest.raises(P.ProtocolError):
        P.split_base_info(H("0100 0400") + bytes(100))
    with pytest.raises(P.ProtocolError):
        P.split_base_info(H("0100 0400") + bytes(300))
    with pytest.raises(RecordError):
        parse_text(bytes(255))
    with pytest.raises(RecordError):
        parse_text(b"\x00\xd8" + bytes(254))       # a lone surrogate is not UCS-2 text


def test_public_form_carries_no_full_number_name_or_birth() -> None:
    pub = CARD.public(b"k" * 32)
    flat = repr(pub) + repr(CARD) + str(CARD)
    for secret in ("11010519491231002X", "欧阳娜娜", "19491231", "北京市东城区"):
        assert secret not in flat
    assert pub["id_masked"] == "110***********002X"
    assert pub["name"] == "欧***"
    assert pub["id_valid"] is True
    assert pub["id_hash"] == id_hash("11010519491231002x", b"k" * 32)
    assert pub["id_hash"] != id_hash(CARD.id_number, b"j" * 32)
    assert CARD.public(None)["id_hash"] is None


def test_id_check_digit() -> None:
    assert id_number_valid("11010519491231002X")
    assert not id_number_valid("110105194912310021")
    assert not id_number_valid("1101051949123100")
