"""The wire format: the OpenAPI document, hall.relay.wire and the simulator agree; signing; payload → body."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hall.records import models
from hall.relay import codes, wire
from hall.relay.county_sim import CountySimulator
from hall.relay.outbox import KINDS

DOC = Path(__file__).resolve().parent.parent / "kiosk" / "relay" / "county-api.yaml"
SECRET = b"0123456789abcdef-secret"
T = "2026-11-25T09:30:00.000+08:00"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    return loaded


# dup-ok: the same stripping as kiosk/relay/wire.py's _strip, written again on purpose: the test checks that one
def _strip(node: Any) -> Any:
    """A schema without its prose (description, example), for comparison."""
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in ("description", "example", "examples")}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


# --------------------------------------------------------------------------- document ⇄ code ⇄ simulator

def test_document_is_openapi_31(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1")
    assert doc["x-freshness-seconds"] == wire.FRESHNESS_SECONDS


def test_document_routes_are_the_wire_routes(doc: dict[str, Any]) -> None:
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == set(wire.ROUTES)


def test_document_schemas_are_the_wire_schemas(doc: dict[str, Any]) -> None:
    documented = doc["components"]["schemas"]
    assert set(documented) == set(wire.SCHEMAS)
    for name, schema in wire.SCHEMAS.items():
        assert _strip(documented[name]) == schema, f"schema {name} differs between the YAML and hall.relay.wire"


def test_document_kinds_and_headers(doc: dict[str, Any]) -> None:
    assert doc["x-kinds"] == wire.BODY_SCHEMA
    assert set(wire.BODY_SCHEMA) == set(doc["components"]["schemas"]["Message"]["properties"]["kind"]["enum"])
    params = doc["components"]["parameters"]
    headers = {p["name"] for p in params.values() if p["in"] == "header"}
    assert {wire.H_HALL, wire.H_TIMESTAMP, wire.H_METHOD, wire.H_SIGNATURE, wire.H_REQUEST_ID} <= headers
    for ops in doc["paths"].values():
        for op in ops.values():
            refs = {p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"] if "$ref" in p}
            assert {"HallId", "Timestamp", "Signature"} <= refs, op["operationId"]
    assert doc["x-personal-fields"] == {k: list(v) for k, v in wire.PERSONAL_FIELDS.items()}


def _enum(doc: dict[str, Any], schema: str, prop: str) -> list[Any]:
    found: list[Any] = doc["components"]["schemas"][schema]["properties"][prop]["enum"]
    return found


def test_code_names_agree_with_the_document(doc: dict[str, Any]) -> None:
    """The schemas come from the document; the names the code branches on must say the same."""
    assert _enum(doc, "CaseBody", "status") == wire.CASE_STATUSES == list(models.CASE_STATUSES)
    assert _enum(doc, "CaseStatusBody", "from_status") == [*wire.CASE_STATUSES, None]
    assert _enum(doc, "CaseBody", "case_kind") == wire.CASE_KINDS
    assert _enum(doc, "RatingBody", "channel") == wire.CHANNELS == list(models.CHANNELS)
    assert _enum(doc, "RatingBody", "level") == list(codes.LEVELS)
    assert _enum(doc, "ComplaintBody", "kind") == wire.COMPLAINT_TYPES
    assert _enum(doc, "RectificationBody", "state") == wire.RECTIFICATION_STATES
    assert _enum(doc, "AppointmentBody", "state") == wire.APPOINTMENT_STATES
    assert _enum(doc, "Message", "kind") == sorted(KINDS)
    assert _enum(doc, "Result", "status") == list(wire.RESULT_STATUSES)
    assert doc["components"]["schemas"]["Batch"]["properties"]["messages"]["maxItems"] == wire.MAX_BATCH_MESSAGES
    bodies = {name: set(doc["components"]["schemas"][name]["properties"]) for name in wire.BODY_SCHEMA.values()}
    for name, fields in wire.PERSONAL_FIELDS.items():
        assert set(fields) <= set(doc["components"]["schemas"][name]["properties"]), name
    assert set().union(*bodies.values()) >= wire.FREE_TEXT


def test_validation_is_the_documents() -> None:
    """jsonschema applies the document's rules; messages name the field and never echo a whole object."""
    body = wire.to_body("case", CASE_PAYLOAD)
    assert wire.validate(body, "CaseBody", "case") == []
    applicant = body["applicant"]
    errors = wire.validate(body | {
        "accepted_at": "2026-11-25T09:30:00",          # no offset: the county wants one
        "version": 1.0,                                # integers are exact on the wire
        "time_limit": {"value": 3, "unit": "周"},      # oneOf TimeLimit | null
        "applicant": applicant | {"type": "个人"},
        "surplus": 1,
    } | {"item_code": ""}, "CaseBody", "case")
    assert "case.accepted_at: '2026-11-25T09:30:00' is not an ISO-8601 date-time with offset" in errors
    assert "case.version: expected integer, got float" in errors
    assert "case.time_limit: matches none of the allowed forms" in errors
    assert any(e.startswith("case.applicant.type: '个人' is not one of") for e in errors)
    assert "case.surplus: not allowed" in errors and "case.item_code: shorter than 1" in errors
    assert not any(applicant["cert_no"] in e for e in errors)
    missing = dict(body)
    del missing["receipt_no"]
    assert wire.validate(missing, "CaseBody", "case") == ["case.receipt_no: required"]
    assert wire.validate({"year": 2027, "holidays": ["2027-02-30"], "workdays": [], "source": "x"},
                         "Holidays") == ["$.holidays[0]: '2027-02-30' is not a YYYY-MM-DD date"]


def _signed(sim: CountySimulator, method: str, target: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=5)
    h = wire.signed_headers("H1", SECRET, method, target, body, time.time())
    h.update(headers or {})
    conn.request(method, target, body=body or None, headers=h)
    r = conn.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    conn.close()
    return out


def test_simulator_serves_every_documented_route_with_documented_answers(doc: dict[str, Any]) -> None:
    with CountySimulator(secrets={"H1": SECRET}) as sim:
        sim.set_holidays(2027, {"holidays": ["2027-01-01"], "workdays": [], "source": "测试"})
        queries = {wire.HOLIDAYS_PATH: "?year=2027"}
        for method, path in sorted(wire.ROUTES):
            body = b""
            if method == "POST":
                body = wire.encode_batch("H1", "b1", T, [{
                    "message_id": "H1:complaint:1:1", "kind": "complaint", "order_key": "complaint:1",
                    "created_at": T, "body": {"complaint_id": "1", "ref_no": "YJ1", "kind": "建议", "created_at": T}}])
            status, _, raw = _signed(sim, method, path + queries.get(path, ""), body)
            op = doc["paths"][path][method.lower()]
            assert status == 200 and "200" in op["responses"], (method, path, status)
            ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            assert wire.validate(json.loads(raw), ref.rsplit("/", 1)[-1]) == [], (method, path)
        # Errors are documented too, and have the documented shape.
        status, _, raw = _signed(sim, "GET", wire.HOLIDAYS_PATH + "?year=2031")
        assert status == 404 and "404" in doc["paths"][wire.HOLIDAYS_PATH]["get"]["responses"]
        assert wire.validate(json.loads(raw), "Error") == [] and json.loads(raw)["error"]["code"] == "not_published"
        # Routes outside the document do not exist.
        assert _signed(sim, "GET", "/v1/nothing")[0] == 404
        assert _signed(sim, "GET", wire.BATCH_PATH)[0] == 405


# --------------------------------------------------------------------------- signature and freshness

def test_signature_covers_timestamp_method_path_and_body() -> None:
    base = wire.sign(SECRET, "1700000000", "POST", "/v1/batches", b"{}")
    assert len(base) == 64 and base == base.lower()
    assert wire.sign(SECRET, "1700000001", "POST", "/v1/batches", b"{}") != base
    assert wire.sign(SECRET, "1700000000", "GET", "/v1/batches", b"{}") != base
    assert wire.sign(SECRET, "1700000000", "POST", "/v1/catalog", b"{}") != base
    assert wire.sign(SECRET, "1700000000", "POST", "/v1/batches", b"{ }") != base
    assert wire.sign(b"another-secret-1234", "1700000000", "POST", "/v1/batches", b"{}") != base
    # HMAC-SHA256 by hand, so the scheme in the document is exactly what the code does.
    import hashlib
    import hmac
    assert base == hmac.new(SECRET, b"1700000000\nPOST\n/v1/batches\n{}", hashlib.sha256).hexdigest()


def test_sm3_signature_when_available() -> None:
    import hashlib
    if "sm3" not in hashlib.algorithms_available:
        pytest.skip("OpenSSL without SM3")
    h = wire.signed_headers("H1", SECRET, "GET", "/v1/catalog", b"", 1_700_000_000, "HMAC-SM3")
    assert h[wire.H_METHOD] == "HMAC-SM3"
    assert wire.verify(h, {"H1": SECRET}, "GET", "/v1/catalog", b"", 1_700_000_000).ok
    assert h[wire.H_SIGNATURE] != wire.sign(SECRET, "1700000000", "GET", "/v1/catalog", b"")


@pytest.mark.parametrize("change, code", [
    ({wire.H_SIGNATURE: "0" * 64}, "bad_signature"),
    ({wire.H_HALL: "H2"}, "unknown_hall"),
    ({wire.H_TIMESTAMP: "abc"}, "bad_timestamp"),
    ({wire.H_METHOD: "MD5"}, "bad_signature"),
])
def test_verify_refuses_tampering(change: dict[str, str], code: str) -> None:
    h = wire.signed_headers("H1", SECRET, "POST", "/v1/batches", b"{}", 1_700_000_000) | change
    v = wire.verify(h, {"H1": SECRET}, "POST", "/v1/batches", b"{}", 1_700_000_000)
    assert not v.ok and v.code == code


def test_verify_freshness_window() -> None:
    h = wire.signed_headers("H1", SECRET, "GET", "/v1/catalog", b"", 1_700_000_000)
    assert wire.verify(h, {"H1": SECRET}, "GET", "/v1/catalog", b"", 1_700_000_000 + 300).ok
    assert wire.verify(h, {"H1": SECRET}, "GET", "/v1/catalog", b"", 1_700_000_000 - 300).ok
    late = wire.verify(h, {"H1": SECRET}, "GET", "/v1/catalog", b"", 1_700_000_000 + 301)
    assert not late.ok and late.code == "stale_timestamp"
    # A signature for the catalog cannot be replayed for the appointments (phone numbers).
    assert not wire.verify(h, {"H1": SECRET}, "GET", "/v1/appointments", b"", 1_700_000_000).ok


def test_simulator_refuses_stale_and_badly_signed_requests() -> None:
    with CountySimulator(secrets={"H1": SECRET}) as sim:
        body = b'{"hall_id":"H1"}'
        conn = http.client.HTTPConnection(sim.host, sim.port, timeout=5)
        old = wire.signed_headers("H1", SECRET, "POST", wire.BATCH_PATH, body, time.time() - 3600)
        conn.request("POST", wire.BATCH_PATH, body=body, headers=old)
        r = conn.getresponse()
        err = json.loads(r.read())["error"]
        assert r.status == 401 and err["code"] == "stale_timestamp"
        assert abs(err["server_time"] - time.time()) < 5
        forged = wire.signed_headers("H1", b"wrong-secret-0123456", "POST", wire.BATCH_PATH, body, time.time())
        conn.request("POST", wire.BATCH_PATH, body=body, headers=forged)
        r = conn.getresponse()
        assert r.status == 401 and json.loads(r.read())["error"]["code"] == "bad_signature"
        conn.close()
        assert sim.stats.auth_failures == 2 and sim.count() == 0


# --------------------------------------------------------------------------- payload → body

CASE_PAYLOAD: dict[str, Any] = {
    # The shape hall.records.cases writes (its _payload), plus hall_id from the records context.
    "hall_id": "H1", "case_id": 7, "receipt_no": "HJ20261125007", "official_no": None,
    "item_code": "11430224MB1234567X4000111001000", "item_name": "最低生活保障申请", "category": "B",
    "case_kind": "承诺件", "time_limit": {"value": 20, "unit": "工作日"}, "status": "受理",
    "applicant": {"type": "自然人", "name": "张三", "cert_type": "111", "cert_no": "430224199001011234",
                  "phone": "13812341234"},
    "agent": {"name": "李四", "cert_type": "111", "cert_no": "43022419800101123X", "phone": "13900001111",
              "village": "新村"},
    "ticket_id": 12, "window": 2, "clerk_id": "1001", "clerk_name": "王芳", "accepted_at": T,
    "promised_finish_at": "2026-12-23T17:30:00.000+08:00", "deadline_estimated": False, "finished_at": None,
    "materials": ["居民身份证", "户口簿"], "version": 1,
}


def test_case_payload_of_the_records_code_becomes_a_valid_body() -> None:
    body = wire.to_body("case", CASE_PAYLOAD)
    assert wire.check_body("case", body) == []
    assert body["case_id"] == "7"  # ids are strings on the wire
    assert "hall_id" not in body and "ticket_id" not in body and "deadline_estimated" not in body
    assert "category" not in body  # a hall-internal queue category: not sent
    assert body["applicant"]["cert_no"] == "430224199001011234"  # the county needs it, unmasked


def test_rating_level_is_sent_with_the_provincial_code_never_a_foreign_one() -> None:
    payload = {"rating_id": 3, "channel": "平板", "level": "非常满意", "level_code": 1, "rated_at": T,
               "assess_number": 1, "reasons": [], "comment": "身份证430224199001011234，电话13812341234，满意"}
    body = wire.to_body("rating", payload)
    assert body["level"] == "非常满意" and body["level_code"] == 5
    assert "430224199001011234" not in body["comment"] and "13812341234" not in body["comment"]
    assert "1234" in body["comment"]  # masked, not removed
    assert wire.check_body("rating", body) == []
    bad = wire.to_body("rating", payload | {"level": "非常不满意"})
    assert bad["level_code"] == 1
    assert wire.check_body("rating", bad) == ["rating.reasons: a 差评 needs at least one reason"]
    assert wire.check_body("rating", bad | {"level_code": 5, "reasons": [{"code": "R01"}]}) != []


def test_unknown_level_is_a_local_error() -> None:
    with pytest.raises(wire.WireError):
        wire.to_body("rating", {"rating_id": 1, "level": "超级满意"})


def test_unknown_payload_fields_are_dropped_and_reported() -> None:
    body = wire.to_body("complaint", {"complaint_id": 1, "ref_no": "YJ1", "kind": "投诉", "created_at": T,
                                      "secret_note_for_hall": "x", "hall_id": "H1"})
    assert "secret_note_for_hall" not in body
    assert "complaint.secret_note_for_hall" in wire.dropped_fields()
    assert "complaint.hall_id" not in wire.dropped_fields()  # known hall-internal: silently dropped


def test_every_kind_has_a_body_schema() -> None:
    from hall.relay.outbox import KINDS

    assert set(wire.BODY_SCHEMA) == set(KINDS)


@pytest.mark.parametrize("raw", [
    b"not json", b"[]", b'{"results": []}', b'{"batch_id": "b", "results": {}}',
    b'{"batch_id": "b", "results": [{"message_id": "m", "status": "ok"}]}',
    b'{"batch_id": "b", "results": [{"message_id": 5, "status": "accepted"}]}',
    b'{"batch_id": "b", "results": [{"message_id": "m", "status": "rejected", "reason": 5}]}',
])
def test_malformed_county_answers_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        wire.decode_results(raw)


def test_county_answer_decoded() -> None:
    raw = wire.encode_json({"batch_id": "b", "results": [
        {"message_id": "m1", "status": "accepted", "county_ref": "BJ1"},
        {"message_id": "m2", "status": "rejected", "code": "invalid_message", "reason": "缺少字段"}]})
    assert wire.decode_results(raw) == [wire.Result("m1", "accepted", None, None, "BJ1"),
                                        wire.Result("m2", "rejected", "invalid_message", "缺少字段", None)]
