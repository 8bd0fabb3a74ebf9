"""The wire format between the hall and the county platform (docs/county-api.yaml).

Everything both sides must agree on lives here, and only here: paths, headers,
the signature, the freshness window, the JSON schemas of the batch and of each
message body, and the conversion of an outbox payload (semantic values, as the
records code writes them) into a message body (the fields the county needs,
platform codes). The relay sender, the county simulator and the tests all use
this module; a test checks that it agrees with the OpenAPI document.

Signature
---------
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

Personal data
-------------
A body holds only the fields listed in :data:`SCHEMAS`; anything else the hall
put into a payload is dropped before sending (and logged once). Personal data
leaves the hall only in these fields, for these reasons:

* ``case.applicant`` (type, name, certificate type and number, phone): the
  county system registers the 办件 against the applicant's identity and sends
  the result notice to the phone. ``case.agent`` (代办员 name, certificate,
  phone, village): who carried the case for the villager (代办 is recorded
  against the agent's identity). ``case.clerk_name``: the 受理人 (staff, in
  office).
* ``complaint.contact_name`` / ``contact_phone``: only present when the citizen
  left them to be answered.
* ``appointment.name`` / ``phone``: the county platform sends the reminder.
* ratings, rectifications, status changes and no-shows carry no personal data
  of the citizen (the clerk's id and name, the window: 好差评 rates the service
  and its clerk). A no-show withholds the name and phone the appointment had.
* the other way, ``GET /v1/appointments`` gives the name already masked by the
  county (``张*``) and the phone, which the hall keeps for the one-booking-per-
  person-per-day rule and never shows unmasked.

Free-text fields (``comment``, ``text``, ``note``, ``reply``, ``verification``)
pass through :func:`hall.security.redact_text`, so an ID or phone number typed
into a comment never leaves unmasked. Hall-internal ids are sent as strings.
Payload fields not in the schema (``hall_id``, ``ticket_id``, ``deadline_estimated``…)
are dropped; :func:`dropped_fields` lists what was dropped so far, so a
mismatch between the records code and the wire format shows in the relay status.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from hall.relay import codes
from hall.relay.outbox import KINDS
from hall.security import redact_text

log = logging.getLogger(__name__)

API_VERSION: Final = "v1"
BATCH_PATH: Final = "/v1/batches"
CATALOG_PATH: Final = "/v1/catalog"
REASONS_PATH: Final = "/v1/reasons"
APPOINTMENTS_PATH: Final = "/v1/appointments"
HOLIDAYS_PATH: Final = "/v1/holidays"

#: (method, path) of every route the county serves; the simulator serves exactly these.
ROUTES: Final[frozenset[tuple[str, str]]] = frozenset({
    ("POST", BATCH_PATH),
    ("GET", CATALOG_PATH),
    ("GET", REASONS_PATH),
    ("GET", APPOINTMENTS_PATH),
    ("GET", HOLIDAYS_PATH),
})

H_HALL: Final = "X-Hall-Id"
H_TIMESTAMP: Final = "X-Timestamp"
H_SIGNATURE: Final = "X-Signature"
H_METHOD: Final = "X-Signature-Method"
H_REQUEST_ID: Final = "X-Request-Id"

FRESHNESS_SECONDS: Final = 300
MAX_BATCH_MESSAGES: Final = 5000
MAX_BODY_BYTES: Final = 16 * 1024 * 1024

SIGNATURE_METHODS: Final[dict[str, str]] = {"HMAC-SHA256": "sha256", "HMAC-SM3": "sm3"}

#: Per-message answers of the county.
ACCEPTED: Final = "accepted"
DUPLICATE: Final = "duplicate"
REJECTED: Final = "rejected"
RESULT_STATUSES: Final = (ACCEPTED, DUPLICATE, REJECTED)

CASE_STATUSES: Final = ["受理", "办理中", "补正", "办结", "退回"]
CASE_KINDS: Final = ["即办件", "承诺件"]
CHANNELS: Final = ["窗口评价器", "平板", "自助终端", "二维码"]
COMPLAINT_TYPES: Final = ["投诉", "建议"]
RECTIFICATION_STATES: Final = ["待整改", "已回复", "已核实", "已关闭"]
APPOINTMENT_STATES: Final = ["booked", "checked_in", "no_show", "cancelled"]

# --------------------------------------------------------------------------- schemas
# JSON Schema (2020-12, as OpenAPI 3.1 uses it). docs/county-api.yaml holds the
# same schemas with descriptions; tests/test_relay_wire.py compares them.

_S: Final[dict[str, Any]] = {"type": "string"}
_S_NULL: Final[dict[str, Any]] = {"type": ["string", "null"]}
_I_NULL: Final[dict[str, Any]] = {"type": ["integer", "null"]}
_DT: Final[dict[str, Any]] = {"type": "string", "format": "date-time"}
_DT_NULL: Final[dict[str, Any]] = {"type": ["string", "null"], "format": "date-time"}


def _obj(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": props}


_ITEM_CODE: Final[dict[str, Any]] = {"type": "string", "minLength": 1, "maxLength": 64}
_CODES: Final[dict[str, Any]] = {"type": "array", "items": {"$ref": "#/components/schemas/ReasonRef"}}
_VERSION: Final[dict[str, Any]] = {"type": "integer", "minimum": 1}

SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "Applicant": _obj(["type", "name", "cert_type", "cert_no"], {
        "type": {"type": "string", "enum": ["自然人", "法人"]},
        "name": _S,
        "cert_type": _S,
        "cert_no": _S,
        "phone": _S_NULL,
    }),
    "Agent": _obj(["name", "cert_type", "cert_no"], {
        "name": _S,
        "cert_type": _S,
        "cert_no": _S,
        "phone": _S_NULL,
        "village": _S_NULL,
    }),
    "ReasonRef": _obj(["code"], {
        "code": _S,
        "text": _S_NULL,
    }),
    "TimeLimit": _obj(["value", "unit"], {
        "value": {"type": "integer", "minimum": 0},
        "unit": {"type": "string", "enum": ["天", "工作日", "月", "年"]},
    }),
    "CaseBody": _obj(["case_id", "receipt_no", "item_code", "item_name", "case_kind", "status", "applicant",
                      "accepted_at", "version"], {
        "case_id": _S,
        "receipt_no": _S,
        "official_no": _S_NULL,
        "item_code": _ITEM_CODE,
        "item_name": _S,
        "case_kind": {"type": "string", "enum": CASE_KINDS},
        "time_limit": {"oneOf": [{"$ref": "#/components/schemas/TimeLimit"}, {"type": "null"}]},
        "status": {"type": "string", "enum": CASE_STATUSES},
        "applicant": {"$ref": "#/components/schemas/Applicant"},
        "agent": {"oneOf": [{"$ref": "#/components/schemas/Agent"}, {"type": "null"}]},
        "window": _I_NULL,
        "clerk_id": _S_NULL,
        "clerk_name": _S_NULL,
        "accepted_at": _DT,
        "promised_finish_at": _DT_NULL,
        "finished_at": _DT_NULL,
        "materials": {"type": "array", "items": {"type": "string"}},
        "version": _VERSION,
    }),
    "CaseStatusBody": _obj(["case_id", "status", "at", "version"], {
        "case_id": _S,
        "receipt_no": _S_NULL,
        "official_no": _S_NULL,
        "item_code": _S_NULL,
        "from_status": {"type": ["string", "null"], "enum": [*CASE_STATUSES, None]},
        "status": {"type": "string", "enum": CASE_STATUSES},
        "at": _DT,
        "note": _S_NULL,
        "clerk_id": _S_NULL,
        "promised_finish_at": _DT_NULL,
        "finished_at": _DT_NULL,
        "version": _VERSION,
    }),
    "RatingBody": _obj(["rating_id", "channel", "level", "level_code", "rated_at", "assess_number"], {
        "rating_id": _S,
        "case_id": _S_NULL,
        "receipt_no": _S_NULL,
        "official_no": _S_NULL,
        "ticket_number": _S_NULL,
        "item_code": _S_NULL,
        "item_name": _S_NULL,
        "category": _S_NULL,
        "channel": {"type": "string", "enum": CHANNELS},
        "level": {"type": "string", "enum": list(codes.LEVELS)},
        "level_code": {"type": "integer", "minimum": 1, "maximum": 5},
        "reasons": _CODES,
        "comment": _S_NULL,
        "clerk_id": _S_NULL,
        "clerk_name": _S_NULL,
        "window": _I_NULL,
        "rated_at": _DT,
        "assess_number": {"type": "integer", "enum": [1, 2]},
    }),
    "ComplaintBody": _obj(["complaint_id", "ref_no", "kind", "created_at"], {
        "complaint_id": _S,
        "ref_no": _S,
        "kind": {"type": "string", "enum": COMPLAINT_TYPES},
        "reasons": _CODES,
        "text": _S_NULL,
        "contact_name": _S_NULL,
        "contact_phone": _S_NULL,
        "window": _I_NULL,
        "created_at": _DT,
        "state": _S_NULL,
        "reply": _S_NULL,
        "handled_at": _DT_NULL,
        "version": _VERSION,
    }),
    "RectificationBody": _obj(["rectification_id", "rating_id", "state", "opened_at", "due_at"], {
        "rectification_id": _S,
        "rating_id": _S,
        "state": {"type": "string", "enum": RECTIFICATION_STATES},
        "opened_at": _DT,
        "due_at": _DT,
        "reply": _S_NULL,
        "replied_at": _DT_NULL,
        "verification": _S_NULL,
        "verified_at": _DT_NULL,
        "closed_at": _DT_NULL,
        "version": _VERSION,
    }),
    "AppointmentBody": _obj(["appointment_id", "code", "source", "category", "slot_start", "state"], {
        "appointment_id": _S,
        "code": _S,
        "source": {"type": "string", "enum": ["county", "hall"]},
        "category": _S,
        "item_code": _S_NULL,
        "item_name": _S_NULL,
        "slot_start": _DT,
        "slot_end": _DT_NULL,
        "name": _S_NULL,
        "phone": _S_NULL,
        "state": {"type": "string", "enum": APPOINTMENT_STATES},
        "booked_at": _DT_NULL,
        "checked_in_at": _DT_NULL,
        "no_show_at": _DT_NULL,
        "cancelled_at": _DT_NULL,
        "version": _VERSION,
    }),
    "AppointmentNoshowBody": _obj(["code", "slot_start", "no_show_at"], {
        "appointment_id": _S_NULL,
        "code": _S,
        "source": {"type": ["string", "null"], "enum": ["county", "hall", None]},
        "category": _S_NULL,
        "item_code": _S_NULL,
        "item_name": _S_NULL,
        "slot_start": _DT,
        "slot_end": _DT_NULL,
        "state": {"type": ["string", "null"], "enum": [*APPOINTMENT_STATES, None]},
        "no_show_at": _DT,
        "version": {"type": ["integer", "null"], "minimum": 1},
    }),
    "Message": _obj(["message_id", "kind", "order_key", "created_at", "body"], {
        "message_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "kind": {"type": "string", "enum": sorted(KINDS)},
        "order_key": {"type": "string", "minLength": 1, "maxLength": 200},
        "created_at": _DT,
        "body": {"type": "object"},
    }),
    "Batch": _obj(["hall_id", "batch_id", "sent_at", "messages"], {
        "hall_id": _S,
        "batch_id": _S,
        "sent_at": _DT,
        "messages": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH_MESSAGES,
                     "items": {"$ref": "#/components/schemas/Message"}},
    }),
    "Result": _obj(["message_id", "status"], {
        "message_id": _S,
        "status": {"type": "string", "enum": list(RESULT_STATUSES)},
        "code": _S_NULL,
        "reason": _S_NULL,
        "county_ref": _S_NULL,
    }),
    "BatchResponse": _obj(["batch_id", "results"], {
        "batch_id": _S,
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
    }),
    # The catalog document belongs to hall.records.catalog (its format and
    # validation); the wire only fixes the envelope.
    "Catalog": {"type": "object", "required": ["version", "items"], "properties": {
        "format": _S,
        "version": _S,
        "published_at": _DT,
        "items": {"type": "array", "items": {"type": "object"}},
    }},
    "Reason": {"type": "object", "required": ["code", "text"], "properties": {
        "code": _S,
        "text": _S,
    }},
    "Reasons": {"type": "object", "required": ["version", "rating_reasons"], "properties": {
        "version": _S,
        "rating_reasons": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Reason"}},
        "complaint_reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
    }},
    "CountyAppointment": _obj(["code", "category", "slot_start", "slot_end", "name", "phone"], {
        "code": {"type": "string", "minLength": 4, "maxLength": 40},
        "category": _S,
        "slot_start": _DT,
        "slot_end": _DT,
        "name": _S,
        "phone": _S,
        "item_code": _S_NULL,
        "item_name": _S_NULL,
        "cancelled": {"type": "boolean"},
        "booked_at": _DT_NULL,
    }),
    "Holidays": _obj(["year", "holidays", "workdays", "source"], {
        "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
        "holidays": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "date"}},
        "workdays": {"type": "array", "items": {"type": "string", "format": "date"}},
        "source": _S,
    }),
    "Appointments": _obj(["cursor", "more", "appointments"], {
        "cursor": _S,
        "more": {"type": "boolean"},
        "appointments": {"type": "array", "items": {"$ref": "#/components/schemas/CountyAppointment"}},
    }),
    "Error": _obj(["error"], {
        "error": _obj(["code", "message"], {
            "code": _S,
            "message": _S,
            "server_time": _I_NULL,
        }),
    }),
}

#: The body schema of each message kind.
BODY_SCHEMA: Final[dict[str, str]] = {
    "case": "CaseBody",
    "case_status": "CaseStatusBody",
    "rating": "RatingBody",
    "complaint": "ComplaintBody",
    "rectification": "RectificationBody",
    "appointment": "AppointmentBody",
    "appointment_noshow": "AppointmentNoshowBody",
}

#: Free-text fields redacted (ID and phone numbers masked) before sending.
FREE_TEXT: Final[frozenset[str]] = frozenset({"comment", "text", "note", "reply", "verification"})

#: Fields holding a citizen's personal data, per body schema (documented in the YAML too).
PERSONAL_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "CaseBody": ("applicant", "agent", "clerk_name"),
    "ComplaintBody": ("contact_name", "contact_phone"),
    "AppointmentBody": ("name", "phone"),
    "CountyAppointment": ("name", "phone"),
}


# --------------------------------------------------------------------------- validation

def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return SCHEMAS[ref.rsplit("/", 1)[-1]]
    return schema


_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[name])


def validate(value: Any, schema: dict[str, Any] | str, path: str = "") -> list[str]:
    """Errors of `value` against one of :data:`SCHEMAS` (by name) or a schema; [] when valid.

    Covers the subset of JSON Schema the wire format uses: type (or a list of
    types), enum, required, properties, additionalProperties false, items,
    min/maxItems, min/maxLength, minimum/maximum, oneOf, $ref, format date-time.
    """
    s = resolve(SCHEMAS[schema] if isinstance(schema, str) else schema)
    where = path or "$"
    if "oneOf" in s:
        if any(not validate(value, alt, path) for alt in s["oneOf"]):
            return []
        return [f"{where}: matches none of the allowed forms"]
    types = s.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(value, n) for n in names):
            return [f"{where}: expected {'/'.join(names)}, got {type(value).__name__}"]
    if value is None:
        return []
    errors: list[str] = []
    if "enum" in s and value not in s["enum"]:
        errors.append(f"{where}: {value!r} is not one of {s['enum']}")
    if s.get("format") == "date" and isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError:
            errors.append(f"{where}: {value!r} is not a YYYY-MM-DD date")
    if s.get("format") == "date-time" and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            errors.append(f"{where}: {value!r} is not an ISO-8601 date-time with offset")
    if isinstance(value, str):
        if len(value) < s.get("minLength", 0):
            errors.append(f"{where}: shorter than {s['minLength']}")
        if "maxLength" in s and len(value) > s["maxLength"]:
            errors.append(f"{where}: longer than {s['maxLength']}")
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in s and value < s["minimum"]:
            errors.append(f"{where}: below {s['minimum']}")
        if "maximum" in s and value > s["maximum"]:
            errors.append(f"{where}: above {s['maximum']}")
    if isinstance(value, dict):
        props = s.get("properties", {})
        for req in s.get("required", []):
            if req not in value:
                errors.append(f"{where}.{req}: required")
        for key, sub in value.items():
            if key in props:
                errors.extend(validate(sub, props[key], f"{where}.{key}"))
            elif s.get("additionalProperties") is False:
                errors.append(f"{where}.{key}: not allowed")
    if isinstance(value, list):
        if len(value) < s.get("minItems", 0):
            errors.append(f"{where}: fewer than {s['minItems']} items")
        if "maxItems" in s and len(value) > s["maxItems"]:
            errors.append(f"{where}: more than {s['maxItems']} items")
        if "items" in s:
            for i, item in enumerate(value):
                errors.extend(validate(item, s["items"], f"{where}[{i}]"))
    return errors


def check_body(kind: str, body: dict[str, Any]) -> list[str]:
    """Schema errors plus the cross-field rules the county enforces for a message body."""
    name = BODY_SCHEMA.get(kind)
    if name is None:
        return [f"unknown kind {kind!r}"]
    errors = validate(body, name, kind)
    if errors:
        return errors
    if kind == "rating":
        if body["level_code"] != codes.to_provincial(body["level"]):
            errors.append(f"rating.level_code {body['level_code']} does not match level {body['level']}")
        if codes.is_bad(body["level"]) and not body.get("reasons"):
            errors.append("rating.reasons: a 差评 needs at least one reason")
    return errors


# --------------------------------------------------------------------------- payload → body

class WireError(ValueError):
    """An outbox payload that cannot be turned into a message body (a hall-side bug)."""


_dropped_lock = threading.Lock()
_dropped: set[tuple[str, str]] = set()


def dropped_fields() -> list[str]:
    """Payload fields dropped because the wire format does not carry them ("kind.field")."""
    with _dropped_lock:
        return sorted(f"{k}.{f}" for k, f in _dropped)


#: Hall-internal payload fields the county has no use for: dropped without a warning.
INTERNAL_FIELDS: Final[frozenset[str]] = frozenset({
    "hall_id", "ticket_id", "deadline_estimated", "due_estimated", "prompt_id", "service_key", "bad",
    "person_key", "booked_by", "replied_by", "verified_by", "closed_by", "handled_by", "updated_at",
    "service_date", "path", "category",
})

#: Personal data the records code may put into a payload that the county does
#: not need for that kind: withheld on purpose, without a warning.
WITHHELD: Final[dict[str, frozenset[str]]] = {
    "appointment_noshow": frozenset({"name", "phone", "booked_at", "checked_in_at", "cancelled_at"}),
}


def _note_dropped(kind: str, key: str) -> None:
    if key.rsplit(".", 1)[-1] in INTERNAL_FIELDS or key in WITHHELD.get(kind, ()):
        return
    with _dropped_lock:
        if (kind, key) in _dropped:
            return
        _dropped.add((kind, key))
    log.warning("outbox payload field %s.%s is not part of the county wire format; not sent", kind, key)


@dataclass(frozen=True)
class _Node:
    """How to project a value onto one schema, worked out once per schema (the relay's hot path)."""

    props: dict[str, tuple[_Node, bool]] | None = None  # object: property → (node, free text?)
    items: _Node | None = None                          # array
    code_items: bool = False                            # array of ReasonRef: a bare code becomes {"code"}
    alternatives: tuple[_Node, ...] = ()                # oneOf
    id_to_string: bool = False                          # string, not integer: an int id becomes str


_PLANS: dict[int, _Node] = {}


def _plan(schema: dict[str, Any]) -> _Node:
    node = _PLANS.get(id(schema))
    if node is not None:
        return node
    s = resolve(schema)
    types = s.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    if "oneOf" in s:
        node = _Node(alternatives=tuple(_plan(alt) for alt in s["oneOf"] if resolve(alt).get("type") == "object"))
    elif "object" in names and "properties" in s:
        node = _Node(props={k: (_plan(sub), k in FREE_TEXT) for k, sub in s["properties"].items()})
    elif "array" in names and "items" in s:
        node = _Node(items=_plan(s["items"]), code_items=resolve(s["items"]).get("required") == ["code"])
    else:
        node = _Node(id_to_string="string" in names and "integer" not in names)
    _PLANS[id(schema)] = node
    return node


def _project(value: Any, node: _Node, where: str, kind: str, free_text: bool = False) -> Any:
    if node.alternatives:
        if isinstance(value, dict):
            return _project(value, node.alternatives[0], where, kind)
        return value
    if node.props is not None:
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        props = node.props
        for key, sub in value.items():
            spec = props.get(key)
            if spec is None:
                _note_dropped(kind, f"{where}.{key}".split(".", 1)[1])
            else:
                out[key] = _project(sub, spec[0], f"{where}.{key}", kind, spec[1])
        return out
    if node.items is not None:
        if not isinstance(value, list):
            return value
        if node.code_items:  # reason lists: a bare code is {"code": code}
            value = [{"code": v} if isinstance(v, str) else v for v in value]
        return [_project(v, node.items, f"{where}[]", kind) for v in value]
    # Ids may be integers inside the hall; on the wire they are strings.
    if node.id_to_string and type(value) is int:
        return str(value)
    if free_text and isinstance(value, str):
        return redact_text(value)
    return value


def to_body(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The message body for an outbox payload: only the documented fields, platform codes.

    Raises :class:`WireError` when the payload cannot be converted at all (for
    example an unknown satisfaction level): such a message is dead-lettered by
    the hall itself instead of being sent.
    """
    name = BODY_SCHEMA.get(kind)
    if name is None:
        raise WireError(f"unknown kind {kind!r}")
    payload = dict(payload)
    if kind == "rating":
        payload.pop("level_code", None)  # never trust a code computed elsewhere
        try:
            level_code = codes.to_provincial(payload.get("level", ""))
        except codes.UnknownLevel as exc:
            raise WireError(str(exc)) from exc
    body: dict[str, Any] = _project(payload, _plan(SCHEMAS[name]), kind, kind)
    if kind == "rating":
        body["level_code"] = level_code
    return body


# --------------------------------------------------------------------------- signing

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


# --------------------------------------------------------------------------- batches

def encode_json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encode_batch(hall_id: str, batch_id: str, sent_at: str, messages: Iterable[dict[str, Any]]) -> bytes:
    return encode_json({"hall_id": hall_id, "batch_id": batch_id, "sent_at": sent_at, "messages": list(messages)})


@dataclass(frozen=True)
class Result:
    message_id: str
    status: str
    code: str | None = None
    reason: str | None = None
    county_ref: str | None = None


def decode_results(raw: bytes) -> list[Result]:
    """The per-message results of a batch response; raises ValueError if malformed.

    Checked field by field rather than with :func:`validate`: this runs for
    every batch, in the service process, while the hall is serving.
    """
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"county answer is not JSON: {exc}") from exc
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list) or not isinstance(doc.get("batch_id"), str):
        raise ValueError("county answer does not match the wire format: batch_id and results required")
    out = []
    for r in results:
        if (not isinstance(r, dict) or not isinstance(r.get("message_id"), str)
                or r.get("status") not in RESULT_STATUSES):
            raise ValueError(f"county answer does not match the wire format: bad result {str(r)[:100]}")
        extra = (r.get("code"), r.get("reason"), r.get("county_ref"))
        if any(x is not None and not isinstance(x, str) for x in extra):
            raise ValueError(f"county answer does not match the wire format: bad result {str(r)[:100]}")
        out.append(Result(r["message_id"], r["status"], *extra))
    return out


def hash_version(data: bytes) -> str:
    """A content version for documents that carry none (sha256, 16 hex digits)."""
    return hashlib.sha256(data).hexdigest()[:16]
