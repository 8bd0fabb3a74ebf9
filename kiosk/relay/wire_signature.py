"""How the hall signs a request to the county, and how the county (and its simulator) checks it.

Part of the wire format (`hall.relay.wire` re-exports every name here); kept apart because
signing is a job of its own that both sides share byte for byte, with no schema in it.

Every request carries ``X-Hall-Id``, ``X-Timestamp`` (Unix seconds),
``X-Signature-Method`` (``HMAC-SHA256``, or ``HMAC-SM3`` where the province asks
for it) and ``X-Signature``, the lower-case hex HMAC with the hall's secret over::

    timestamp "\\n" METHOD "\\n" path-and-query "\\n" body

DESIGN.md asks for "timestamp and body"; the method and path are added so a
signed ``GET /v1/catalog`` cannot be replayed as ``GET /v1/appointments``
(which carries phone numbers) within the freshness window. A request whose
timestamp is more than :data:`FRESHNESS_SECONDS` away from the county's clock is
refused with 401 ``stale_timestamp`` and the county's time, so the hall can
report (and correct for) a wrong clock.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "FRESHNESS_SECONDS", "H_HALL", "H_METHOD", "H_REQUEST_ID", "H_SIGNATURE", "H_TIMESTAMP", "SIGNATURE_METHODS",
    "Verdict", "sign", "signed_headers", "signing_string", "verify",
]

H_HALL: Final = "X-Hall-Id"
H_TIMESTAMP: Final = "X-Timestamp"
H_SIGNATURE: Final = "X-Signature"
H_METHOD: Final = "X-Signature-Method"
H_REQUEST_ID: Final = "X-Request-Id"

FRESHNESS_SECONDS: Final = 300

SIGNATURE_METHODS: Final[dict[str, str]] = {"HMAC-SHA256": "sha256", "HMAC-SM3": "sm3"}


def signing_string(timestamp: str, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body


def sign(secret: bytes, timestamp: str, method: str, path: str, body: bytes,
         algorithm: str = "HMAC-SHA256") -> str:
    digest = SIGNATURE_METHODS.get(algorithm)
    if digest is None:
        raise ValueError(f"unknown signature method {algorithm!r}; known: {', '.join(SIGNATURE_METHODS)}")
    return hmac.new(secret, signing_string(timestamp, method, path, body), digest).hexdigest()


def signed_headers(hall_id: str, secret: bytes, method: str, path: str, body: bytes, now: float,
                   algorithm: str = "HMAC-SHA256") -> dict[str, str]:
    ts = str(int(now))
    return {
        H_HALL: hall_id,
        H_TIMESTAMP: ts,
        H_METHOD: algorithm,
        H_SIGNATURE: sign(secret, ts, method, path, body, algorithm),
    }


@dataclass(frozen=True)
class Verdict:
    ok: bool
    code: str = ""
    message: str = ""


def verify(headers: Any, secrets: dict[str, bytes], method: str, path: str, body: bytes, now: float,
           window: int = FRESHNESS_SECONDS) -> Verdict:
    """Check a request's signature and freshness (`headers` is any case-insensitive mapping)."""
    hall = headers.get(H_HALL) or ""
    secret = secrets.get(hall)
    if secret is None:
        return Verdict(False, "unknown_hall", f"unknown hall id {hall!r}")
    algorithm = headers.get(H_METHOD) or "HMAC-SHA256"
    if algorithm not in SIGNATURE_METHODS:
        return Verdict(False, "bad_signature", f"unsupported signature method {algorithm!r}")
    ts = headers.get(H_TIMESTAMP) or ""
    if not ts.isdigit():
        return Verdict(False, "bad_timestamp", "X-Timestamp must be Unix seconds")
    if abs(now - int(ts)) > window:
        return Verdict(False, "stale_timestamp", f"timestamp {ts} is more than {window} s from county time")
    given = headers.get(H_SIGNATURE) or ""
    expected = sign(secret, ts, method, path, body, algorithm)
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        return Verdict(False, "bad_signature", "signature does not match")
    return Verdict(True)
