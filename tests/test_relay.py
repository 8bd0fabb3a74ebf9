"""The relay sender against the county simulator over loopback: nothing lost, nothing sent twice."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import County
from hall.relay.client import (
    CountyClient,
    CountyError,
    RelayConfigError,
    TransportError,
    check_endpoint,
    load_secret,
)
from hall.relay.county_sim import CountySimulator
from hall.relay.outbox import dead_letters, enqueue, outbox_status, retry_dead_letter
from hall.relay.sender import Relay
from hall.store.db import Database

from tests.waiting import wait_until

SECRET = b"test-secret-0123456789"
T = "2026-11-25T09:30:00.000+08:00"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(tmp_path / "hall.db")
    yield d
    d.close()


@pytest.fixture
def sim() -> Iterator[CountySimulator]:
    with CountySimulator(secrets={"H1": SECRET}) as s:
        yield s


def make_relay(db: Database, sim: CountySimulator, *, batch_size: int = 50, timeout: float = 2.0,
               secret: bytes = SECRET, **kw: Any) -> Relay:
    county = County(endpoint=sim.url, hall_id="H1", batch_size=batch_size, timeout_seconds=timeout)
    client = CountyClient(sim.url, "H1", secret, timeout=timeout)
    kw.setdefault("backoff_base", 0.02)
    kw.setdefault("backoff_cap", 0.2)
    kw.setdefault("poll_seconds", 0.05)
    return Relay(db, county, client=client, rng=random.Random(7), **kw)


def rating(i: int, level: str = "满意", **extra: Any) -> dict[str, Any]:
    return {"hall_id": "H1", "rating_id": i, "channel": "平板", "level": level, "reasons": [],
            "rated_at": T, "assess_number": 1, **extra}


def add_ratings(db: Database, n: int, start: int = 0) -> list[str]:
    ids = []
    with db.write() as c:
        for i in range(start, start + n):
            mid = f"H1:rating:{i}:1"
            enqueue(c, kind="rating", message_id=mid, order_key=f"ticket:{i}", payload=rating(i))
            ids.append(mid)
    return ids


def add_case_stream(db: Database, case_id: int, changes: list[str]) -> list[str]:
    """A case and its status changes: one ordered stream (order_key case:<id>)."""
    with db.write() as c:
        return _case_stream(c, case_id, changes)


def _case_stream(c: Any, case_id: int, changes: list[str]) -> list[str]:
    ids = []
    mid = f"H1:case:{case_id}:1"
    enqueue(c, kind="case", message_id=mid, order_key=f"case:{case_id}", payload={
        "case_id": case_id, "receipt_no": f"HJ{case_id:06d}", "item_code": "1143022400001", "item_name": "临时救助申请",
        "case_kind": "承诺件", "status": "受理", "accepted_at": T, "version": 1,
        "applicant": {"type": "自然人", "name": "张三", "cert_type": "111", "cert_no": "430224199001011234"}})
    ids.append(mid)
    for v, status in enumerate(changes, start=2):
        mid = f"H1:case_status:{case_id}:{v}"
        enqueue(c, kind="case_status", message_id=mid, order_key=f"case:{case_id}",
                payload={"case_id": case_id, "status": status, "at": T, "version": v})
        ids.append(mid)
    return ids


def states(db: Database) -> dict[str, int]:
    return {r[0]: r[1] for r in db.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")}


def assert_exactly_once(db: Database, sim: CountySimulator, expected: list[str]) -> None:
    got = [m["message_id"] for m in sim.messages()]
    assert len(got) == len(set(got)), "a message is stored twice at the county"
    assert sorted(got) == sorted(expected), "a message is missing at the county"
    assert sim.stats.conflicts == 0
    assert states(db) == {"acked": len(expected)}


def arrival_order_per_key(sim: CountySimulator) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for m in sim.messages():
        order.setdefault(m["order_key"], []).append(m["message_id"])
    return order


# --------------------------------------------------------------------------- configuration

def test_plain_http_only_to_loopback() -> None:
    assert check_endpoint("https://county.example/hall-api")[3] == "/hall-api"
    assert check_endpoint("http://127.0.0.1:8900")[1] == "127.0.0.1"
    assert check_endpoint("http://[::1]:8900")[1] == "::1"
    assert check_endpoint("http://localhost:8900")[1] == "localhost"
    for bad in ("http://10.1.2.3:8900", "http://county.example", "ftp://127.0.0.1", "county.example",
                "https://county.example/?x=1"):
        with pytest.raises(RelayConfigError):
            check_endpoint(bad)


def test_secret_from_env_or_file_never_from_config(tmp_path: Path) -> None:
    county = County(endpoint="https://county.example", hall_id="H1", secret_env="MY_SECRET")
    assert load_secret(county, {"MY_SECRET": " abcdefghijklmnop \n"}) == b"abcdefghijklmnop"
    with pytest.raises(RelayConfigError, match="MY_SECRET"):
        load_secret(county, {})
    with pytest.raises(RelayConfigError, match="过短"):
        load_secret(county, {"MY_SECRET": "short"})
    f = tmp_path / "secret"
    f.write_bytes(b"file-secret-0123456789\n")
    county_f = County(endpoint="https://county.example", hall_id="H1", secret_file=str(f))
    assert load_secret(county_f, {}) == b"file-secret-0123456789"
    with pytest.raises(RelayConfigError, match="无法读取"):
        load_secret(County(hall_id="H1", secret_file=str(tmp_path / "missing")), {})
    assert "secret" not in County.model_fields  # there is no field that could hold the secret itself


def test_misconfigured_relay_reports_and_sends_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HALL_COUNTY_SECRET", raising=False)
    add_ratings(db, 3)
    relay = Relay.from_config(db, County(endpoint="https://county.example", hall_id="H1"))
    relay.start()
    st = relay.status()
    assert st["configured"] is False and st["state"] == "misconfigured" and not st["running"]
    assert "HALL_COUNTY_SECRET" in st["config_error"] and st["backlog"] == 3
    relay = Relay.from_config(db, County(endpoint="http://192.0.2.1:80", hall_id="H1"))
    assert "明文 http" in relay.status()["config_error"]


# --------------------------------------------------------------------------- signature, freshness, duplicates

def test_wrong_secret_is_refused_and_nothing_is_acknowledged(db: Database, sim: CountySimulator) -> None:
    add_ratings(db, 5)
    relay = make_relay(db, sim, secret=b"not-the-hall-secret-000")
    with pytest.raises(CountyError) as exc:
        relay.send_batch()
    assert exc.value.status == 401 and exc.value.code == "bad_signature"
    assert sim.count() == 0 and sim.stats.auth_errors == {"bad_signature": 1}
    assert states(db) == {"pending": 5}


def test_hall_clock_off_by_an_hour_is_corrected_from_the_county_answer(db: Database) -> None:
    with CountySimulator(secrets={"H1": SECRET}, now=lambda: time.time() + 3600) as sim:
        add_ratings(db, 5)
        relay = make_relay(db, sim)
        out = relay.send_batch()
        assert out.accepted == 5
        assert sim.stats.auth_errors == {"stale_timestamp": 1}  # refused once, then signed with county time
        assert abs(relay.status()["clock_skew_seconds"] - 3600) < 5


def test_duplicates_are_dropped_by_the_county_and_count_as_acknowledged(db: Database, sim: CountySimulator) -> None:
    ids = add_ratings(db, 30)
    relay = make_relay(db, sim)
    assert relay.drain(10)
    # As if the hall had crashed before recording the answers: all pending again.
    with db.write() as c:
        c.execute("UPDATE outbox SET state = 'pending', acked_at = NULL, ack_status = NULL")
    assert relay.drain(10)
    assert sim.stats.duplicates == 30 and sim.stats.accepted == 30
    assert_exactly_once(db, sim, ids)
    assert {r[0] for r in db.conn.execute("SELECT ack_status FROM outbox")} == {"duplicate"}


def test_enqueue_twice_sends_once(db: Database, sim: CountySimulator) -> None:
    add_ratings(db, 10)
    ids = add_ratings(db, 10)  # the records code retried its write
    relay = make_relay(db, sim)
    assert relay.drain(10)
    assert_exactly_once(db, sim, ids)


def test_lost_answer_is_resent_and_dropped_as_duplicate(db: Database, sim: CountySimulator) -> None:
    ids = add_ratings(db, 40)
    sim.fault("drop_response", count=1)  # the county stores the batch, the answer never arrives
    relay = make_relay(db, sim, batch_size=20)
    assert relay.drain(10)
    assert sim.stats.duplicates == 20
    assert_exactly_once(db, sim, ids)


# --------------------------------------------------------------------------- order

def test_messages_of_one_case_arrive_in_order_one_per_batch(db: Database, sim: CountySimulator) -> None:
    expected: dict[str, list[str]] = {}
    for case_id in range(1, 21):  # interleaved with other traffic
        expected[f"case:{case_id}"] = add_case_stream(db, case_id, ["办理中", "补正", "办理中", "办结"])
        add_ratings(db, 3, start=case_id * 10)
    relay = make_relay(db, sim, batch_size=25)
    assert relay.drain(20)
    order = arrival_order_per_key(sim)
    for key, ids in expected.items():
        assert order[key] == ids
    assert sim.stats.order_violations == 0  # never two messages of one key in one batch
    assert sim.stats.batches >= 5  # a case's five messages needed five batches


def test_next_message_of_a_case_waits_while_the_previous_is_a_dead_letter(db: Database, sim: CountySimulator) -> None:
    ids = add_case_stream(db, 1, ["办理中", "办结"])
    others = add_ratings(db, 5)
    sim.fault("reject", message_ids={ids[1]}, code="item_unknown", reason="事项编码未在县级目录中")
    relay = make_relay(db, sim)
    assert relay.drain(10)
    assert [m["message_id"] for m in sim.messages() if m["order_key"] == "case:1"] == ids[:1]
    st = relay.status()
    assert st["dead_letters"] == 1 and st["blocked_by_dead_letters"] == 1 and st["backlog"] == 1
    (dl,) = dead_letters(db)
    assert dl["message_id"] == ids[1] and dl["dead_code"] == "item_unknown" and "事项编码" in dl["dead_reason"]
    # The county fixes its catalog; the technician retries: the stream resumes in order.
    sim.clear("reject")
    assert retry_dead_letter(db, dl["id"], actor="9101")
    assert not retry_dead_letter(db, dl["id"], actor="9101")  # no longer a dead letter
    assert relay.drain(10)
    assert arrival_order_per_key(sim)["case:1"] == ids
    assert_exactly_once(db, sim, ids + others)
    audit = db.conn.execute("SELECT actor, action, target FROM audit").fetchall()
    assert [tuple(a) for a in audit] == [("9101", "relay.retry", ids[1])]


# --------------------------------------------------------------------------- dead letters

def test_invalid_message_is_rejected_by_the_county_and_kept(db: Database, sim: CountySimulator) -> None:
    good = add_ratings(db, 3)
    with db.write() as c:  # a 差评 without a reason: the county's rule
        enqueue(c, kind="rating", message_id="H1:rating:99:1", order_key="ticket:99",
                payload=rating(99, level="非常不满意"))
    relay = make_relay(db, sim)
    assert relay.drain(10)
    assert sorted(m["message_id"] for m in sim.messages()) == sorted(good)
    (dl,) = dead_letters(db)
    assert dl["dead_code"] == "invalid_message" and "差评" in dl["dead_reason"]
    assert states(db) == {"acked": 3, "dead": 1}
    assert sim.rejections()[0]["message_id"] == "H1:rating:99:1"


def test_a_payload_the_hall_cannot_encode_is_dead_lettered_locally(db: Database, sim: CountySimulator) -> None:
    with db.write() as c:
        enqueue(c, kind="rating", message_id="H1:rating:1:1", order_key="ticket:1", payload=rating(1, level="超级满意"))
    add_ratings(db, 2, start=5)
    relay = make_relay(db, sim)
    assert relay.drain(10)
    (dl,) = dead_letters(db)
    assert dl["dead_code"] == "hall_invalid" and "超级满意" in dl["dead_reason"]
    assert sim.stats.messages == 2  # never sent


def test_retry_after_a_fix_delivers_the_dead_letter(db: Database, sim: CountySimulator) -> None:
    ids = add_ratings(db, 10)
    sim.fault("reject", kinds={"rating"}, count=4, code="maintenance", reason="县级平台维护，暂不接收")
    relay = make_relay(db, sim)
    assert relay.drain(10)
    assert relay.status()["dead_letters"] == 4
    for dl in dead_letters(db):
        assert retry_dead_letter(db, dl["id"], actor="9101")
    assert relay.drain(10)
    assert_exactly_once(db, sim, ids)
    assert db.conn.execute("SELECT SUM(retried) FROM outbox").fetchone()[0] == 4


# --------------------------------------------------------------------------- outages and backoff

@pytest.mark.parametrize("fault", ["partition", "refuse", "http_error", "slow"])
def test_backoff_during_an_outage_then_drain(db: Database, sim: CountySimulator, fault: str) -> None:
    ids = add_ratings(db, 120)
    sim.fault(fault, seconds=1.0)  # "slow": answers after 1 s, beyond the relay's 0.3 s timeout
    relay = make_relay(db, sim, batch_size=40, timeout=0.3)
    relay.start()
    try:
        # One snapshot for the wait and the asserts: the backoff is 0.02-0.2 s, so a second status() read
        # on a busy machine caught the relay already sending its next try ("sending" != "backoff").
        st: dict[str, Any] = {}

        def backing_off() -> bool:
            st.update(relay.status())
            return bool(st["consecutive_failures"] >= 3 and st["state"] == "backoff")

        assert wait_until(backing_off), st
        assert st["backlog"] == 120 and st["last_error"]
        expected_error = {"partition": "超时", "refuse": "连接被拒绝", "http_error": "HTTP 500", "slow": "超时"}
        assert expected_error[fault] in st["last_error"]
        sim.clear()
        assert wait_until(lambda: relay.status()["backlog"] == 0)
        st = relay.status()
        assert st["consecutive_failures"] == 0 and st["last_success_at"]
    finally:
        relay.stop()
    assert_exactly_once(db, sim, ids)


def test_backoff_grows_exponentially_with_jitter_and_is_capped(db: Database, sim: CountySimulator) -> None:
    relay = make_relay(db, sim, backoff_base=1.0, backoff_cap=60.0)
    delays = []
    for _ in range(10):
        before = time.monotonic()
        relay._failed(TransportError("test"))
        delays.append(relay._st.next_attempt_mono - before)
    for n, d in enumerate(delays):
        full = min(60.0, 2.0 ** n)
        assert full / 2 - 0.01 <= d <= full + 0.01
    assert max(delays) <= 60.01 and delays[-1] >= 30 - 0.01
    assert len({round(d, 6) for d in delays[6:]}) > 1  # jitter: capped delays still differ


def test_retry_after_is_honoured(db: Database, sim: CountySimulator) -> None:
    relay = make_relay(db, sim, backoff_base=0.01, backoff_cap=120.0)
    before = time.monotonic()
    relay._failed(CountyError(503, "busy", "忙", retry_after=30))
    assert relay._st.next_attempt_mono - before >= 30


def test_messages_the_county_left_unanswered_are_sent_again_after_a_pause(db: Database,
                                                                          sim: CountySimulator) -> None:
    ids = add_ratings(db, 10)
    sim.fault("omit", message_ids={ids[3]}, count=2)
    relay = make_relay(db, sim)
    assert relay.drain(10)
    assert_exactly_once(db, sim, ids)
    row = db.conn.execute("SELECT attempts FROM outbox WHERE message_id = ?", (ids[3],)).fetchone()
    assert row[0] == 3  # twice unanswered, then acknowledged
    assert relay._st.consecutive_failures == 0 and "没有收到答复" in (relay._st.last_error or "")


def test_too_large_batches_are_halved(db: Database, sim: CountySimulator) -> None:
    ids = add_ratings(db, 60)
    sim.fault("http_error", status=413, count=2)
    relay = make_relay(db, sim, batch_size=40)
    assert relay.drain(10)
    assert relay.batch_size == 10
    assert_exactly_once(db, sim, ids)


# --------------------------------------------------------------------------- crash in the middle of a batch

CHILD = textwrap.dedent("""
    import sys
    from hall.config.schema import County
    from hall.relay.client import CountyClient
    from hall.relay.sender import Relay
    from hall.store.db import Database
    db_path, url = sys.argv[1], sys.argv[2]
    secret = sys.argv[3].encode()
    relay = Relay(Database(db_path), County(endpoint=url, hall_id="H1", batch_size=50, timeout_seconds=30),
                  client=CountyClient(url, "H1", secret, timeout=30))
    print("draining", flush=True)
    relay.drain(60)
""")


def test_process_killed_between_send_and_ack_loses_nothing_and_duplicates_nothing(
        tmp_path: Path, sim: CountySimulator) -> None:
    db = Database(tmp_path / "hall.db")
    ids = add_ratings(db, 200)
    sim.fault("hold", count=1)  # the county stores the first batch and holds its answer
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "hall.db"), sim.url, SECRET.decode()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # held: the county has stored the batch and keeps its answer until release(), so the kill lands in between
        assert wait_until(lambda: sim.count() == 50), proc.stderr.read() if proc.poll() else ""
        proc.kill()  # the hall dies after the county stored the batch, before it recorded the answer
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert states(db) == {"pending": 200}  # nothing was marked: the answer never came
    sim.release()
    relay = make_relay(db, sim, batch_size=50)  # the restarted service
    assert relay.drain(20)
    assert sim.stats.duplicates == 50  # the stored batch came again and was dropped
    assert_exactly_once(db, sim, ids)
    db.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_thread_dying_after_the_answer_before_the_ack_loses_nothing(db: Database, sim: CountySimulator) -> None:
    ids = add_ratings(db, 100)
    relay = make_relay(db, sim)

    def crash(*args: Any) -> None:
        raise SystemExit("power cut")  # not an Exception: the thread dies as in a crash

    relay._record = crash  # type: ignore[method-assign]
    relay.start()
    assert wait_until(lambda: relay._thread is not None and not relay._thread.is_alive())
    assert sim.count() == 50 and states(db) == {"pending": 100}
    restarted = make_relay(db, sim)
    assert restarted.drain(10)
    assert sim.stats.duplicates == 50
    assert_exactly_once(db, sim, ids)


# --------------------------------------------------------------------------- status

def test_status_reports_backlog_age_errors_and_drain_progress(db: Database, sim: CountySimulator) -> None:
    add_ratings(db, 500)
    with db.write() as c:  # the oldest record waited a day
        c.execute("UPDATE outbox SET created_at = '2020-01-01T09:00:00.000+08:00' WHERE id = 1")
    relay = make_relay(db, sim, batch_size=100)
    st = relay.status()
    assert st["backlog"] == 500 and st["oldest_pending_at"].startswith("2020-01-01")
    assert st["oldest_pending_age_seconds"] > 86400 and st["last_success_at"] is None
    relay.send_batch()
    relay.send_batch()
    st = relay.status()
    assert st["backlog"] == 300 and st["drain"]["sent"] == 200 and st["drain"]["remaining"] == 300
    assert st["drain"]["percent"] == 40.0 and st["last_success_at"]
    # What the database alone says (the CLI, another process): progress too.
    on_disk = outbox_status(db)
    assert on_disk["drain"]["sent"] == 200 and on_disk["drain"]["remaining"] == 300
    assert relay.drain(10)
    st = relay.status()
    assert st["drain"] is None and st["last_drain"]["sent"] == 500 and st["last_drain"]["percent"] == 100.0
    assert outbox_status(db)["last_drain"]["sent"] == 500


def test_acked_rows_are_kept_and_pruned_only_after_the_retention(db: Database, sim: CountySimulator) -> None:
    from hall.relay.outbox import prune_acked

    add_ratings(db, 10)
    relay = make_relay(db, sim)
    assert relay.drain(10)
    assert prune_acked(db, 180) == 0
    with db.write() as c:
        c.execute("UPDATE outbox SET acked_at = '2020-01-01T00:00:00.000+08:00' WHERE id <= 4")
        c.execute("UPDATE outbox SET state = 'pending' WHERE id = 5")
        c.execute("UPDATE outbox SET acked_at = '2020-01-01T00:00:00.000+08:00' WHERE id = 5")
    assert prune_acked(db, 180) == 4  # the pending one stays whatever its dates
    assert states(db) == {"acked": 5, "pending": 1}


# --------------------------------------------------------------------------- fetches

def test_catalog_and_reasons_are_fetched_with_versions(db: Database, sim: CountySimulator) -> None:
    relay = make_relay(db, sim)
    got = relay.fetch_catalog()
    assert got is not None and got.version == sim.catalog["version"] and got.etag == f'"{got.version}"'
    assert got.doc["items"]
    assert relay.fetch_catalog(etag=got.etag) is None  # 304: still current
    sim.set_catalog(dict(sim.catalog, version="2026.12"))
    newer = relay.fetch_catalog(etag=got.etag)
    assert newer is not None and newer.version == "2026.12"
    reasons = relay.fetch_reasons()
    assert reasons is not None and reasons.doc["rating_reasons"]
    assert relay.status()["sync"]["catalog"]["ok"] is True


def test_a_catalog_that_breaks_the_wire_format_is_refused(db: Database, sim: CountySimulator) -> None:
    relay = make_relay(db, sim)
    sim.set_catalog({"version": "broken", "items": "not a list"})
    with pytest.raises(CountyError, match="接口文档"):
        relay.fetch_catalog()
    st = relay.status()["sync"]["catalog"]
    assert st["ok"] is False and "items" in st["detail"]


def test_fetch_when_the_county_is_unreachable_raises_a_clear_error(db: Database, sim: CountySimulator) -> None:
    relay = make_relay(db, sim)
    sim.fault("refuse")
    with pytest.raises(TransportError, match="连接被拒绝"):
        relay.fetch_reasons()


def test_appointments_are_paged_by_cursor(db: Database, sim: CountySimulator) -> None:
    for i in range(5):
        sim.add_appointment({"code": f"YY{i:04d}", "category": "C", "slot_start": "2026-11-26T09:00:00+08:00",
                             "slot_end": "2026-11-26T09:30:00+08:00", "name": "张*", "phone": "13812341234"})
    relay = make_relay(db, sim)
    page = relay.fetch_appointments(limit=3)
    assert [a["code"] for a in page["appointments"]] == ["YY0000", "YY0001", "YY0002"] and page["more"]
    page2 = relay.fetch_appointments(since=page["cursor"], limit=3)
    assert [a["code"] for a in page2["appointments"]] == ["YY0003", "YY0004"] and not page2["more"]
    sim.add_appointment({"code": "YY0001", "category": "C", "slot_start": "2026-11-26T09:00:00+08:00",
                         "slot_end": "2026-11-26T09:30:00+08:00", "name": "张*", "phone": "13812341234",
                         "cancelled": True})
    page3 = relay.fetch_appointments(since=page2["cursor"])
    assert page3["appointments"][0]["code"] == "YY0001" and page3["appointments"][0]["cancelled"] is True


# --------------------------------------------------------------------------- TLS

def _make_ca_and_cert(tmp: Path) -> tuple[Path, Path, Path]:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=County Test CA",
        "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
        "-out", "server.csr")
    (tmp / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf")
    return tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_https_with_a_private_ca_bundle_and_verification_on(tmp_path: Path, db: Database) -> None:
    ca, cert, key = _make_ca_and_cert(tmp_path)
    ids = add_ratings(db, 20)
    with CountySimulator(secrets={"H1": SECRET}, tls=(str(cert), str(key))) as sim:
        assert sim.url.startswith("https://")
        untrusting = Relay(db, County(endpoint=sim.url, hall_id="H1"),
                           client=CountyClient(sim.url, "H1", SECRET, timeout=3))
        with pytest.raises(TransportError, match="证书校验失败"):
            untrusting.send_batch()
        assert sim.count() == 0
        trusting = Relay(db, County(endpoint=sim.url, hall_id="H1", ca_bundle=str(ca)),
                         client=CountyClient(sim.url, "H1", SECRET, ca_bundle=str(ca), timeout=10))
        assert trusting.drain(10)
        assert sorted(m["message_id"] for m in sim.messages()) == sorted(ids)
    with pytest.raises(RelayConfigError, match="不存在"):
        CountyClient("https://127.0.0.1:1", "H1", SECRET, ca_bundle=str(tmp_path / "nope.pem"))


# --------------------------------------------------------------------------- a week offline

@pytest.mark.slow
def test_a_week_offline_drains_completely_while_the_hall_keeps_serving(tmp_path: Path) -> None:
    from hall.config.loader import demo_config_path, load_config
    from hall.queue.clock import FixedClock
    from hall.services import build_services

    config = load_config(demo_config_path())
    svc = build_services(config, tmp_path, clock=FixedClock(datetime(2026, 11, 25, 9, 0)), with_devices=False)
    try:
        with CountySimulator(secrets={"H1": SECRET}) as sim:
            sim.fault("refuse")  # the county link is down all week
            relay = make_relay(svc.db, sim, batch_size=200, timeout=1.0, backoff_cap=0.5)
            relay.start()
            expected: list[str] = []
            # A week of a busy hall: 20,000 records, cases with their status changes among them.
            for day in range(7):
                with svc.db.write() as c:
                    for case_id in range(day * 300, day * 300 + 300):
                        expected += _case_stream(c, case_id, ["办理中", "办结"])
                expected += add_ratings(svc.db, 1957, start=day * 10_000)
            assert len(expected) == 20_000 - 1
            assert relay.status()["backlog"] == len(expected) and sim.count() == 0
            sim.clear("refuse")  # the link returns; the hall keeps issuing tickets meanwhile
            issued: list[str] = []
            deadline = time.monotonic() + 600      # a hang guard, not a speed target (scripts/bench_relay.py has those)
            while relay.status()["backlog"] > 0:
                assert time.monotonic() < deadline, f"backlog still {relay.status()['backlog']} after 10 minutes"
                result = svc.engine.issue("ABCDEF"[len(issued) % 6]).as_dict()
                issued.append(result["ticket"]["number"])
                time.sleep(0.01)
            relay.stop()
            assert issued and len(set(issued)) == len(issued)   # tickets kept coming while it drained
            assert_exactly_once(svc.db, sim, expected)
            order = arrival_order_per_key(sim)
            assert all(order[f"case:{i}"] == [f"H1:case:{i}:1", f"H1:case_status:{i}:2", f"H1:case_status:{i}:3"]
                       for i in range(2100))
            assert json.dumps(relay.status()["last_drain"])  # progress was reported
    finally:
        svc.stop()


# --------------------------------------------------------------------------- sharing the hall PC

def test_drain_yields_cpu_only_while_the_hall_is_busy(db: Database, sim: CountySimulator) -> None:
    relay = make_relay(db, sim, yield_factor=1.0)
    waits: list[float] = []
    relay._stop.wait = lambda t=None: waits.append(t) or False  # type: ignore[method-assign,assignment,func-returns-value]
    relay._yield_to_the_hall(0.02)
    assert waits == []  # nobody in the hall: full speed
    relay.on_event(type("Ev", (), {"kind": "ticket.issued"})())
    relay._yield_to_the_hall(0.02)
    relay._yield_to_the_hall(5.0)
    assert waits == [0.02, 0.25]  # as much CPU time as the batch took, capped
    relay._wake.clear()
    before = relay._hall_active_mono
    relay.on_event(type("Ev", (), {"kind": "relay.state"})())  # its own events do not count
    assert not relay._wake.is_set() and relay._hall_active_mono == before


def test_relay_marks_commit_without_fsync_and_restore_the_setting(db: Database, sim: CountySimulator) -> None:
    relay = make_relay(db, sim)
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL for records
    seen = []
    with relay._bookkeeping() as c:
        seen.append(c.execute("PRAGMA synchronous").fetchone()[0])
    assert seen == [1] and db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
