"""PIN hashing and masking of personal data.

PINs are stored only as salted PBKDF2 hashes so a copied config file does not
give away clerks' PINs. Masking lives here so every screen, ticket, log and
export masks the same way (DESIGN.md §4).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_ITERATIONS = 120_000


def hash_pin(pin: str, *, iterations: int = _ITERATIONS, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        algo, iters, salt_hex, digest_hex = stored.split("$")
        if algo != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iters))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# dup-ok: drivers/idcard/record.py masks the same way on its own because drivers may not import hall.security
def mask_id(number: str | None) -> str:
    """`430102199001011234` → `430***********1234`; short numbers keep only their ends."""
    if not number:
        return ""
    n = number.strip()
    if len(n) <= 4:
        return "*" * len(n)
    if len(n) <= 8:
        return n[0] + "*" * (len(n) - 3) + n[-2:]
    return n[:3] + "*" * (len(n) - 7) + n[-4:]


def mask_phone(phone: str | None) -> str:
    """`13812341234` → `138****1234`."""
    if not phone:
        return ""
    p = re.sub(r"\s|-", "", phone)
    if len(p) < 7:
        return "*" * len(p)
    return p[:3] + "*" * (len(p) - 7) + p[-4:]


def mask_name(name: str | None) -> str:
    """`张三` → `张*`, `欧阳娜娜` → `欧***`."""
    if not name:
        return ""
    n = name.strip()
    if len(n) <= 1:
        return n
    return n[0] + "*" * (len(n) - 1)


_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_DEVICE_QS_RE = re.compile(r"([?&]device=)[^&\s\"']+")   # a kiosk's pairing token in a stream URL


def redact_text(text: str) -> str:
    """Mask ID and mobile numbers inside free text (logs, comments, exports), and a kiosk's device token
    in a stream URL (`?device=`, hall.web.api_events)."""
    text = _ID_RE.sub(lambda m: m.group(0)[:3] + "*" * 11 + m.group(0)[-4:], text)
    text = _DEVICE_QS_RE.sub(r"\1***", text)
    return _PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
