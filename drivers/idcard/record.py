"""The card's base-information text block, and how its personal data may travel.

The 256-byte block holds fixed fields of UCS-2LE text padded with spaces:
name 30, sex 2, ethnicity 4, birth date 16, address 70, ID number 36,
issuing authority 30, valid from 16, valid to 16, reserved 36 (bytes).
The 1,024-byte photo that follows is WLT-compressed and needs a licensed
decoder: it is dropped here, never stored or decoded.

What a card holds is sensitive personal information (PIPL art. 28). A
`CardRecord` therefore never prints its full ID number (its repr is masked),
and `CardRecord.public()` is the only form that leaves the driver: masked
name and number plus a keyed hash (HMAC-SHA256) to match a card with a
record without keeping the number. The masking rules are the project's
(`430***********1234`, `张*`); they are repeated here so drivers import no
service modules.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

FIELDS: tuple[tuple[str, int], ...] = (
    ("name", 30), ("sex", 2), ("ethnicity", 4), ("birth", 16), ("address", 70), ("id_number", 36),
    ("authority", 30), ("valid_from", 16), ("valid_to", 16), ("reserved", 36),
)
TEXT_LENGTH = sum(n for _, n in FIELDS)   # 256

SEX_NAMES = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

# GB/T 3304 ethnicity codes as the card stores them.
ETHNICITIES = dict(enumerate((
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
    "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇",
    "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙",
    "鄂伦春", "赫哲", "门巴", "珞巴", "基诺"), start=1))
ETHNICITIES.update({97: "其他", 98: "外国血统"})

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class RecordError(ValueError):
    """The text block is not a base-information block (wrong size, not UCS-2LE)."""


def id_check_char(first17: str) -> str:
    """The 18th character of a citizen ID number (ISO 7064 MOD 11-2)."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_valid(number: str) -> bool:
    return (len(number) == 18 and number[:17].isdigit() and number[17] in "0123456789X"
            and id_check_char(number[:17]) == number[17])


# dup-ok: kiosk/security.py mask_id's rule; drivers may not import hall.security (test_driver_imports)
def mask_id(number: str) -> str:
    """`430102199001011234` → `430***********1234`."""
    n = number.strip()
    if len(n) <= 4:
        return "*" * len(n)
    if len(n) <= 8:
        return n[0] + "*" * (len(n) - 3) + n[-2:]
    return n[:3] + "*" * (len(n) - 7) + n[-4:]


def mask_name(name: str) -> str:
    """`张三` → `张*`."""
    n = name.strip()
    return n if len(n) <= 1 else n[0] + "*" * (len(n) - 1)


def id_hash(number: str, key: bytes) -> str:
    """Keyed hash of an ID number for matching (HMAC-SHA256, hex). Without the hall's key the
    hash cannot be turned back into a number by trying every birth date and sequence."""
    return hmac.new(key, number.strip().upper().encode("ascii", "replace"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CardRecord:
    name: str
    sex: str             # the card's code: 1 男, 2 女
    ethnicity: str       # two-digit code
    birth: str           # YYYYMMDD
    address: str
    id_number: str
    authority: str
    valid_from: str      # YYYYMMDD
    valid_to: str        # YYYYMMDD or 长期

    def __repr__(self) -> str:        # logs and tracebacks show only the masked form
        return f"CardRecord(name={mask_name(self.name)!r}, id={mask_id(self.id_number)!r})"

    __str__ = __repr__

    @property
    def sex_name(self) -> str:
        return SEX_NAMES.get(self.sex, self.sex)

    @property
    def ethnicity_name(self) -> str:
        try:
            return ETHNICITIES.get(int(self.ethnicity), self.ethnicity)
        except ValueError:
            return self.ethnicity

    def public(self, key: bytes | None) -> dict[str, Any]:
        """What may be published, shown and logged: no full number, name, address or birth date.
        `id_hash` is None when no key is configured (then nothing can be matched)."""
        return {
            "name": mask_name(self.name),
            "sex": self.sex_name,
            "ethnicity": self.ethnicity_name,
            "id_masked": mask_id(self.id_number),
            "id_valid": id_number_valid(self.id_number),
            "id_hash": id_hash(self.id_number, key) if key else None,
            "valid_to": self.valid_to,
        }


def _field(text: str, width: int) -> bytes:
    raw = text.encode("utf-16-le")
    if len(raw) > width:
        raise RecordError(f"字段过长：{len(text)} 个字符，最多 {width // 2} 个")
    return raw + " ".encode("utf-16-le") * ((width - len(raw)) // 2)


def encode_text(rec: CardRecord) -> bytes:
    """The 256-byte block a card carries (the emulator sends it)."""
    values = {"reserved": ""} | {k: getattr(rec, k) for k, _ in FIELDS if k != "reserved"}
    return b"".join(_field(values[k], n) for k, n in FIELDS)


def parse_text(block: bytes) -> CardRecord:
    if len(block) != TEXT_LENGTH:
        raise RecordError(f"文字信息应为 {TEXT_LENGTH} 字节，而不是 {len(block)}")
    values: dict[str, str] = {}
    pos = 0
    for key, width in FIELDS:
        try:
            text = block[pos:pos + width].decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise RecordError(f"字段 {key} 不是 UCS-2 文本") from exc
        values[key] = text.replace("\x00", "").strip()
        pos += width
    values.pop("reserved")
    return CardRecord(**values)
