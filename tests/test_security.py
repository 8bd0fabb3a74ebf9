from __future__ import annotations

from hall.security import hash_pin, mask_id, mask_name, mask_phone, redact_text, verify_pin


def test_pin_hash_roundtrip_and_rejects_wrong_pin() -> None:
    h = hash_pin("123456", iterations=1000)
    assert verify_pin("123456", h)
    assert not verify_pin("123457", h)
    assert not verify_pin("123456", "garbage")


def test_masks() -> None:
    assert mask_id("430102199001011234") == "430***********1234"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_id("") == ""


def test_redact_text_masks_ids_and_phones_in_free_text() -> None:
    text = "申请人 430102199001011234 电话 13812341234 编号 A001"
    out = redact_text(text)
    assert "430102199001011234" not in out and "13812341234" not in out
    assert "430***********1234" in out and "138****1234" in out and "A001" in out
