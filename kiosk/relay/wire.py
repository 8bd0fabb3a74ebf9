"""The wire format between the hall and the county platform (county-api.yaml beside this module).

The JSON schemas of the batch and of each message body come from that OpenAPI
document, the one source of truth, and `jsonschema` validates against them.
Everything else both sides must agree on lives here: paths, headers, the
signature, the freshness window, and the conversion of an outbox payload
(semantic values, as the records code writes them) into a message body (the
fields the county needs, platform codes). The relay sender, the county
simulator and the tests all use this module; tests/test_relay_wire.py fails
when its names (kinds, statuses, levels, limits) and the document disagree.

Signature
---------
The request signature (headers, HMAC, freshness) is in :mod:`hall.relay.wire_signature`;
every name there is re-exported here.

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
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import yaml
from hall.relay import codes
from hall.relay.wire_signature import *  # noqa: F403  (re-exported: wire.py is where callers find the whole wire format)
from hall.security import redact_text

if TYPE_CHECKING:
    from jsonschema import ValidationError

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

MAX_BATCH_MESSAGES: Final = 5000
MAX_BODY_BYTES: Final = 16 * 1024 * 1024

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
# The document is the one source of truth for the JSON schemas: it ships inside
# this package (the service validates against it at run time) and is loaded once.
# The names below are what the code branches on; tests/test_relay_wire.py fails
# when they and the document's enums disagree.

DOCUMENT_FILE: Final = "county-api.yaml"


# dup-ok: tests/test_relay_wire.py strips the document its own way on purpose, to check this one
def _strip(node: Any) -> Any:
    """A schema without its prose: the description is for people, not for validation or projection."""
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in ("description", "example", "examples")}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def load_document() -> dict[str, Any]:
    """The OpenAPI document of the county interface, as shipped with this package."""
    text = resources.files(__package__ or "hall.relay").joinpath(DOCUMENT_FILE).read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


#: The document's JSON schemas (2020-12, as OpenAPI 3.1 uses it), prose stripped.
SCHEMAS: Final[dict[str, dict[str, Any]]] = _strip(load_document()["components"]["schemas"])

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


def _is_integer(_checker: Any, value: Any) -> bool:
    # JSON Schema counts 1.0 as an integer; the county's integers (versions,
    # windows, codes) are exact, so a float is refused as the wire always did.
    return isinstance(value, int) and not isinstance(value, bool)


def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


@cache
def _jsonschema() -> tuple[Any, Any]:
    """(validator class, format checker), made on the first validation: jsonschema and its
    dependencies hold ~3 MB, and a hall without a county link never validates anything."""
    from jsonschema import Draft202012Validator, FormatChecker, validators

    validator = validators.extend(
        Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer))
    # Our own format checks: jsonschema's date-time check silently does nothing
    # unless an optional package is installed, and the county wants an offset.
    formats = FormatChecker(formats=())
    formats.checks("date-time", raises=ValueError)(_date_time)
    formats.checks("date", raises=ValueError)(_date)
    return validator, formats


def _inline(node: Any, seen: tuple[str, ...] = ()) -> Any:
    """A schema with its `$ref`s to the document's components replaced by their targets.

    The wire's schemas are not recursive; resolving each `$ref` once here makes
    validation about twice as fast as letting `referencing` look it up on every call.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                raise ValueError(f"recursive schema {name} in {DOCUMENT_FILE}")
            return _inline(SCHEMAS[name], (*seen, name))
        return {k: _inline(v, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, seen) for v in node]
    return node


_NAMED: dict[str, Any] = {}
_named_lock = threading.Lock()


def _validator(schema: dict[str, Any] | str) -> Any:
    """A validator for a named schema (built once) or for a schema that may `$ref` the named ones."""
    validator, formats = _jsonschema()
    if isinstance(schema, str):
        with _named_lock:
            v = _NAMED.get(schema)
            if v is None:
                v = _NAMED[schema] = validator(_inline(SCHEMAS[schema]), format_checker=formats)
            return v
    return validator(_inline(schema), format_checker=formats)


def _describe(error: ValidationError, path: str) -> list[str]:
    """An error's messages, naming the field; never a whole offending object (it may hold an ID number)."""
    where = (path or "$") + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    kind, limit, value = error.validator, error.validator_value, error.instance
    if kind == "required" and isinstance(value, dict):
        return [f"{where}.{r}: required" for r in limit if r not in value]
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = error.schema.get("properties", {})
        return [f"{where}.{k}: not allowed" for k in value if k not in allowed]
    if kind == "type":
        names = [limit] if isinstance(limit, str) else list(limit)
        return [f"{where}: expected {'/'.join(names)}, got {type(value).__name__}"]
    if kind in ("oneOf", "anyOf"):
        return [f"{where}: matches none of the allowed forms"]
    shown = repr(value) if isinstance(value, str | int | float | None) else type(value).__name__
    if kind == "enum":
        return [f"{where}: {shown} is not one of {limit}"]
    if kind == "format":
        return [f"{where}: {shown} is not a YYYY-MM-DD date" if limit == "date"
                else f"{where}: {shown} is not an ISO-8601 date-time with offset"]
    words = {"minLength": "shorter than {}", "maxLength": "longer than {}", "minimum": "below {}",
             "maximum": "above {}", "minItems": "fewer than {} items", "maxItems": "more than {} items"}
    return [f"{where}: " + words.get(kind, f"does not satisfy {kind} {{}}").format(str(limit)[:60])]


def validate(value: Any, schema: dict[str, Any] | str, path: str = "") -> list[str]:
    """Errors of `value` against one of :data:`SCHEMAS` (by name) or a schema; [] when valid.

    The `jsonschema` library does the validation (draft 2020-12, the dialect of
    OpenAPI 3.1) against the document's own schemas, so the code cannot drift
    from it; only the messages are ours, in the wire's path notation.
    """
    errors: list[str] = []
    for error in _validator(schema).iter_errors(value):
        errors.extend(t for t in _describe(error, path) if t not in errors)
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
    # a keypad 差评's reasons completed later: the county gets them as the rating's next version,
    # whose envelope carries the time; the standard rating record has no field for it
    "reason_completed_at",
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


# --------------------------------------------------------------------------- batches

def encode_json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encode_batch(hall_id: str, batch_id: str, sent_at: str, messages: Iterable[dict[str, Any]]) -> bytes:
    return encode_json({"hall_id": hall_id, "batch_id": batch_id, "sent_at": sent_at, "messages": list(messages)})


# dup-ok: a frozen record of optional fields, shaped like records/base.py ItemInfo only
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
