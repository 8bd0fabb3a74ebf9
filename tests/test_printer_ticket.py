"""The ticket template and its ESC/POS bytes: golden byte checks and read-back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hall.drivers.printer.render import plain, render
from hall.drivers.printer.ticket import (
    CHINESE_ON,
    CUT_FULL,
    CUT_PARTIAL,
    TemplateError,
    TicketLayout,
    default_template_text,
    parse_template,
    wrap,
)
from hall.security import redact_text

HALL = "示范镇便民服务中心"
QR_BASE = "http://192.168.10.5:8080/r/"

PAYLOAD: dict[str, Any] = {
    "ticket": {"id": 42, "number": "C007"},
    "number": "C007",
    "category": "C",
    "category_name": "医保、人社",
    "lane": "normal",
    "ahead": 6,
    "wait_minutes": 12,
    "issued_at": "2026-11-25T09:41:07.000+08:00",
    "no_show_rule": "过号后顺延3位重新排队",
}


def layout(**options: Any) -> TicketLayout:
    return TicketLayout.from_options(options, hall_name=HALL, default_qr_base=QR_BASE, redact=redact_text)


def text_of(data: bytes, columns: int = 42) -> str:
    jobs = render(data, columns, chinese_default=False)   # strict: hanzi only after FS &
    assert len(jobs) == 1
    return jobs[0].text


def test_starts_with_init_then_chinese_mode() -> None:
    data = layout().ticket(PAYLOAD)
    assert data.startswith(b"\x1b@" + CHINESE_ON)


def test_full_width_punctuation_is_gb18030() -> None:
    data = layout().ticket(PAYLOAD)
    # 取号时间：  您前面还有 6 人等候  （补打） … each in GB18030, never '?'
    assert "取号时间：".encode("gb18030") in data
    assert "：".encode("gb18030") == b"\xa3\xba"
    for mark, code in {"：": b"\xa3\xba", "，": b"\xa3\xac", "。": b"\xa1\xa3", "（": b"\xa3\xa8",
                       "）": b"\xa3\xa9", "、": b"\xa1\xa2"}.items():
        assert code in data, mark
    assert b"?" not in data.split(b"\x1d(k")[0]   # no '?' stand-ins in the text before the QR
    assert "您前面还有 6 人等候".encode("gb18030") in data


def test_punctuation_only_line_survives() -> None:
    # python-escpos would print "？？" for a string of punctuation alone (its issues #491/#269/#190/#638).
    t = layout(template="{number}\n（），。：")
    data = t.ticket(PAYLOAD)
    assert "（），。：".encode("gb18030") + b"\n" in data
    assert "（），。：" in text_of(data)


def test_native_qr_bytes_are_gs_paren_k() -> None:
    data = layout(qr="native").ticket(PAYLOAD)
    url = f"{QR_BASE}42".encode()
    store = b"\x1d(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url
    assert store in data
    assert b"\x1d(k\x03\x001Q0" in data           # print the stored symbol
    assert b"\x1d(k\x03\x001C\x06" in data        # module size 6
    assert b"\x1d(k\x03\x001E1" in data           # error correction M
    assert len(data) <= 1024                       # the target: ≤ 1 KB on the wire


def test_image_qr_is_raster_and_reads_back() -> None:
    native = layout(qr="native").ticket(PAYLOAD)
    image = layout(qr="image").ticket(PAYLOAD)
    assert b"\x1dv0" in image and b"\x1d(k" not in image
    assert len(native) < len(image) <= 1536         # ≤ 1.5 KB: under 2 s at 9600 baud
    jobs = render(image)
    assert jobs[0].qr == [f"{QR_BASE}42"]           # the raster decodes back to the payload


def test_qr_none_and_configurable_base() -> None:
    assert b"\x1d(k" not in layout(qr="none").ticket(PAYLOAD)
    data = layout(qr_base="https://hall.example/q/").ticket(PAYLOAD)
    assert b"https://hall.example/q/42" in data


def test_cut_per_profile_and_option() -> None:
    assert layout().ticket(PAYLOAD).endswith(CUT_FULL)                   # default profile has a cutter
    assert layout(cut_mode="partial").ticket(PAYLOAD).endswith(CUT_PARTIAL)
    # POS-5890 declares no cutter: python-escpos's cut() sends nothing, so by default no cut …
    no_cutter = layout(profile="POS-5890").ticket(PAYLOAD)
    assert CUT_FULL not in no_cutter and CUT_PARTIAL not in no_cutter
    # … but a hall that says cut = true gets one anyway.
    forced = layout(profile="POS-5890", cut=True).ticket(PAYLOAD)
    assert forced.endswith(b"\x1bd\x06" + CUT_FULL)
    assert forced.count(b"\x1dV") == 1
    assert CUT_FULL not in layout(cut=False).ticket(PAYLOAD)


def test_read_back_has_what_halls_print() -> None:
    text = text_of(layout().ticket(PAYLOAD))
    flat = plain(text)
    for piece in (HALL, "C007", "医保、人社", "您前面还有 6 人等候", "取号时间：2026-11-25 09:41",
                  "预计等候：约 12 分钟", "过号规则：过号后顺延3位重新排队", f"[二维码] {QR_BASE}42", "评价"):
        assert piece in flat, piece
    assert text.endswith("切纸 -------------------")
    assert "【" not in text          # normal lane: the [?lane_label] line is left out


def test_card_holders_masked_name_only_when_taken_with_a_card() -> None:
    assert "取号人" not in plain(text_of(layout().ticket(PAYLOAD)))
    flat = plain(text_of(layout().ticket({**PAYLOAD, "holder_name": "张**"})))
    assert "取号人：张**" in flat


def test_priority_and_reprint_labels() -> None:
    t = layout()
    flat = plain(text_of(t.ticket({**PAYLOAD, "lane": "priority"}, reprint=True)))
    assert "【优先】" in flat and "（补打）" in flat


def test_58mm_lines_fit_and_do_not_start_with_punctuation() -> None:
    t = layout(profile="POS-5890")
    assert t.options.columns == 32
    text = text_of(t.ticket(PAYLOAD), 32)
    for line in text.splitlines():
        if not line.startswith("[") and "切纸" not in line:
            assert sum(2 if ord(c) > 0x2E7F else 1 for c in line) <= 32, line
            assert not line.lstrip().startswith(("，", "。", "）", "、")), line


def test_never_prints_an_id_or_phone_number() -> None:
    t = TicketLayout.from_options({}, hall_name="示范镇 430102199001011234 13812345678",
                                  default_qr_base=QR_BASE, redact=redact_text)
    data = t.ticket({**PAYLOAD, "category_name": "医保 13912341234"})
    assert b"430102199001011234" not in data and b"13812345678" not in data and b"13912341234" not in data
    assert b"430***********1234" in data and b"139****1234" in data


def test_every_text_line_and_the_qr_go_through_the_given_redactor() -> None:
    """The masking rule is the app's, passed in (drivers import no hall.security): whatever it does shows."""
    t = TicketLayout.from_options({"qr": "native"}, hall_name=HALL, default_qr_base=QR_BASE,
                                  redact=lambda s: s.replace("医保", "[M]").replace("/r/", "/masked/"))
    data = t.ticket(PAYLOAD)
    assert "医保".encode("gb18030") not in data and b"[M]" in data
    assert f"{QR_BASE}42".encode() not in data and b"/masked/42" in data


def test_control_bytes_in_names_cannot_inject_commands() -> None:
    t = TicketLayout.from_options({}, hall_name="大厅\x1b@\x1dV\x00", default_qr_base=QR_BASE,
                                  redact=redact_text)
    data = t.ticket(PAYLOAD)
    assert data.count(b"\x1b@") == 1 and data.count(b"\x1dV") == 1


def test_a_hall_changes_the_layout_inline_or_by_file(tmp_path: Path) -> None:
    inline = layout(template="[center][bold]{hall_name}\n[center][3x]{number}\n请到{category_name}窗口等候")
    flat = plain(text_of(inline.ticket(PAYLOAD)))
    assert "C007" in flat and "请到医保、人社窗口等候" in flat and "二维码" not in flat
    f = tmp_path / "ticket.txt"
    f.write_text("# 我们的小票\n{number}\n[qr]{qr_url}\n[cut]\n", "utf-8")
    data = layout(template_file=str(f)).ticket(PAYLOAD)
    assert data.count(b"\x1dV\x00") == 1 and f"{QR_BASE}42".encode() in data


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{number}\n{id_card}", "第 2 行：没有字段 {id_card}"),
        ("{number}\n[blink]X", "第 2 行：不认识的标记 [blink]"),
        ("{category_name}", "必须有 {number}"),
        ("{number}\n{ahead", "第 2 行：花括号不成对"),
        ("{number}\n[qr]", "第 2 行：[qr] 后面要写二维码内容"),
        ("{number}\n[?nope]x", "第 2 行：没有字段 {nope}"),
    ],
)
def test_template_mistakes_fail_at_start_with_the_line(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as e:
        layout(template=template)
    assert message in str(e.value)


def test_format_errors_surface_at_start() -> None:
    with pytest.raises(TemplateError):
        layout(template="{number}\n{category_name:d}")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"qr": "svg"}, "qr"), ({"profile": "NoSuchPrinter"}, "profile"), ({"cut": "maybe"}, "cut"),
     ({"qr_size": 40}, "qr_size"), ({"template": "{number}", "template_file": "x"}, "二选一")],
)
def test_bad_options_are_clear(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as e:
        layout(**options)
    assert message in str(e.value)


def test_default_template_parses_and_has_the_required_pieces() -> None:
    lines = parse_template(default_template_text())
    texts = " ".join(ln.text for ln in lines)
    for field in ("{hall_name}", "{number}", "{category_name}", "{ahead}", "{issued_at}", "{wait_text}",
                  "{no_show_rule}", "{qr_url}"):
        assert field in texts
    assert any(ln.kind == "cut" for ln in lines)


def test_test_page_is_marked_as_not_a_number() -> None:
    from datetime import datetime

    flat = plain(text_of(layout().test_page(datetime(2026, 11, 25, 9, 0))))
    assert "测试小票，非有效号码" in flat and "A000" in flat


def test_wrap_counts_hanzi_as_two_columns() -> None:
    assert wrap("一二三四五", 6) == ["一二三", "四五"]
    assert wrap("abc一二", 5) == ["abc一", "二"]
    assert wrap("一二三，四", 6) == ["一二", "三，四"]      # a comma never starts a line


def test_test_ticket_qr_opens_the_hall_start_page() -> None:
    """Commissioning: a phone scans the test ticket and lands on the hall's own page (public address)."""
    from datetime import datetime

    for qr in ("native", "image"):
        jobs = render(layout(qr=qr).test_page(datetime(2026, 12, 5, 9, 0)))
        assert jobs[0].qr == ["http://192.168.10.5:8080/"], qr
