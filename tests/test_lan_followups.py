"""LAN follow-ups to issue 10 (paired devices), over real HTTP against a hall served by waitress.

Found after issue 10 closed: anyone on the LAN could use up a kiosk's paper with 告知单 prints; an ID-card
reader bound to no kiosk served any paired kiosk; a new pairing of a window's tablet left the old one
working; the plain /kiosk page could never reprint and did not say what to do about it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.loader import demo_config_path
from hall.drivers.idcard.record import id_check_char
from hall.events import Event
from hall.print_quota import NOTICE_SLIPS, NOTICE_WINDOW_S

from tests.browser_support import Hall, serve_hall
from tests.waiting import WAIT_SECONDS, wait_until

ITEM = "11430224MB0DEMO00X05105001000001"       # 临时救助申请 in the demo catalog (category B)
UNBOUND = "idcard-x"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo hall plus a third ID-card reader that nobody bound to a kiosk or a window."""
    path = tmp_path_factory.mktemp("lan-config") / "hall.toml"
    text = demo_config_path().read_text(encoding="utf-8")
    path.write_text(text + f'\n[[devices]]\nname = "{UNBOUND}"\nkind = "idcard"\nurl = "emulator://"\n',
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory, config_path: Path) -> Iterator[Hall]:
    yield from serve_hall(tmp_path_factory.mktemp("lan"), config_path)


@pytest.fixture(scope="module")
def events(hall: Hall) -> list[Event]:
    """Every event the hall publishes from here on (listeners run on the publishing thread)."""
    seen: list[Event] = []
    hall.services.hub.add_listener(seen.append)
    return seen


def call(hall: Hall, method: str, path: str, body: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    """(status, JSON body, response headers) of a plain HTTP request, as a LAN host sends it."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(hall.url + path, data=data, method=method,
                                 headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null"), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), exc.headers


def device(token: str) -> dict[str, str]:
    return {"X-Hall-Device": token}


def staff(hall: Hall, staff_id: str, secret: str, window: int | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {hall.login(staff_id, secret, window)}"}


def jobs(hall: Hall, printer: str) -> int:
    return len(hall.services.devices.emulators[printer].jobs)


def audit(hall: Hall, action: str) -> list[tuple[str, str, str, str]]:
    with hall.services.db.read() as c:
        return [tuple(r) for r in c.execute("SELECT actor, target, detail, device FROM audit WHERE action = ?"
                                             " ORDER BY id", (action,))]


def notice(hall: Hall, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    return call(hall, "POST", f"/api/catalog/items/{ITEM}/notice/print", body, headers)


def printers_ready(hall: Hall) -> None:
    assert wait_until(lambda: all(d.readiness()["ready"] for d in hall.services.devices.by_kind("printer")))


# ---------------------------------------------------------------------- 1. 告知单 on a kiosk's paper
def test_notice_print_needs_the_paired_kiosk_and_prints_on_its_own_printer(hall: Hall) -> None:
    printers_ready(hall)
    before = {p: jobs(hall, p) for p in ("printer", "printer-2")}
    status, answer, _ = notice(hall, {"kiosk": "k2"})                       # any host on the LAN
    assert status == 403 and answer["error"]["code"] == "device_not_paired", answer
    message = answer["error"]["message"]
    assert "未配对" in message and "窗口" in message and "技术员" in message and "配对码" in message
    k2 = device(hall.pair(kiosk="k2"))
    status, answer, _ = notice(hall, {"kiosk": "k1"}, k2)                    # another kiosk's paper
    assert status == 403 and answer["error"]["code"] == "not_this_kiosk" and "本机" in answer["error"]["message"]
    assert {p: jobs(hall, p) for p in before} == before                     # nothing printed anywhere
    status, answer, _ = notice(hall, {}, k2)                                 # no id: its pairing says which
    assert status == 202 and answer["printer"]["name"] == "printer-2", answer
    assert hall.services.devices.emulators["printer-2"].wait_for_jobs(before["printer-2"] + 1, WAIT_SECONDS)
    assert "一次性告知单" in hall.services.devices.emulators["printer-2"].jobs[-1].text
    assert jobs(hall, "printer") == before["printer"]


def test_notice_prints_per_kiosk_are_limited_and_staff_prints_are_audited(hall: Hall) -> None:
    printers_ready(hall)
    k1 = device(hall.pair(kiosk="k1"))
    start = jobs(hall, "printer")
    results = [notice(hall, {"kiosk": "k1"}, k1) for _ in range(NOTICE_SLIPS + 2)]
    assert [r[0] for r in results] == [202] * NOTICE_SLIPS + [429, 429]
    status, answer, headers = results[-1]
    message = answer["error"]["message"]
    assert answer["error"]["code"] == "notice_print_limit"
    assert f"最多打印 {NOTICE_SLIPS} 张" in message and "分钟后再试" in message and "窗口" in message, message
    assert 0 < int(headers["Retry-After"]) <= NOTICE_WINDOW_S
    assert hall.services.devices.emulators["printer"].wait_for_jobs(start + NOTICE_SLIPS, WAIT_SECONDS)
    assert jobs(hall, "printer") == start + NOTICE_SLIPS                    # the refused ones printed nothing
    # the other kiosk has its own allowance; a clerk at the window may still print on k1's printer
    assert notice(hall, {}, device(hall.pair(kiosk="k2")))[0] == 202
    clerk = staff(hall, "1002", "123456", window=2)
    status, answer, _ = notice(hall, {"kiosk": "k1"}, clerk)
    assert status == 202 and answer["printer"]["name"] == "printer", answer
    actor, target, detail, _device = audit(hall, "notice.print")[-1]
    assert (actor, target) == ("1002", ITEM) and json.loads(detail) == {"kiosk": "k1", "printer": "printer"}


# ---------------------------------------------------------------------- 3. one tablet per window
def test_a_new_pairing_replaces_the_old_one_with_an_audit_entry(hall: Hall, events: list[Event]) -> None:
    old = device(hall.pair(window=4))
    other = device(hall.pair(window=5))
    hall.tokens.clear()                           # the technician pairs window 4's replacement tablet
    seen = len(events)
    new = device(hall.pair(window=4))
    assert call(hall, "GET", "/api/pairing/me", headers=old)[1] == {"paired": False, "refused": True}
    assert call(hall, "GET", "/api/pairing/me", headers=new)[1]["window"] == 4
    assert call(hall, "GET", "/api/pairing/me", headers=other)[1]["window"] == 5     # other windows untouched
    rows = call(hall, "GET", "/api/tech/pairings", headers=staff(hall, "9101", "tech-6666"))[1]["pairings"]
    four = [r for r in rows if r["window"] == 4]
    assert [r["state"] for r in four] == ["paired", "revoked"], four          # newest first
    replaced = audit(hall, "pairing.replaced")
    assert replaced and replaced[-1][1] == "4号窗口评价器"
    assert json.loads(replaced[-1][2]) == {"step": "replaced", "id": four[1]["id"], "by": four[0]["id"]}
    revoked = [e.data for e in events[seen:] if e.kind == "device.revoked"]
    assert revoked == [{"id": four[1]["id"], "name": "4号窗口评价器", "replaced_by": four[0]["id"]}]


# ---------------------------------------------------------------------- 2. card reader binding
def _place(hall: Hall, reader: str, name: str, seq: str) -> None:
    first = "110105" + "19600101" + seq
    status, answer = hall.api("POST", f"/api/devices/emulators/{reader}/fault",
                              {"command": f"place {name} 男 19600101 {first + id_check_char(first)}"},
                              token=hall.login("9101", "tech-6666"))
    assert status == 200, answer


def test_an_unbound_card_reader_reads_for_no_kiosk_and_the_technician_is_told(hall: Hall, events: list[Event],
                                                                              config_path: Path, tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]
                                                                              ) -> None:
    cards = hall.services.cards
    assert cards is not None
    assert wait_until(lambda: hall.services.devices.get(UNBOUND).state == "ready")
    seen = len(events)
    _place(hall, UNBOUND, "王建国", "011")
    assert wait_until(lambda: cards.unbound_reads.get(UNBOUND) == 1), "the reader published no read"
    raw = [e for e in events[seen:] if e.kind == "idcard.read" and e.data["device"] == UNBOUND]
    assert raw, "the read itself happened (technician's stream shows it)"
    assert not [e for e in events[seen:] if e.kind == "card.read"]          # but no kiosk was sent it
    # the bound reader still reads for its kiosk (so the silence above is the binding, not the test)
    _place(hall, "idcard-k1", "赵建国", "031")
    assert wait_until(lambda: any(e.kind == "card.read" for e in events[seen:]))
    assert [e.data["kiosk"] for e in events[seen:] if e.kind == "card.read"] == ["k1"]

    # /tech (config checks) and `kiosk diag` name the reader and the line that binds it
    checks = call(hall, "GET", "/api/tech/config", headers=staff(hall, "9101", "tech-6666"))[1]["checks"]
    warned = [c for c in checks if UNBOUND in c["item"]]
    assert len(warned) == 1 and warned[0]["level"] == "warn", checks
    assert f'idcard = "{UNBOUND}"' in warned[0]["message"] and "不会送到任何自助终端" in warned[0]["message"]
    assert not [c for c in checks if "idcard-k1" in c["item"] or "idcard-w1" in c["item"]]
    from hall.cli import main

    capsys.readouterr()
    assert main(["diag", "--config", str(config_path), "--data-dir", str(tmp_path), "--no-test",
                 "--settle", "1"]) == 0
    out = capsys.readouterr().out
    line = next((ln for ln in out.splitlines() if UNBOUND in ln and "WARN" in ln), "")
    assert "未绑定自助终端或窗口" in line and f'idcard = "{UNBOUND}"' in line, out


# ---------------------------------------------------------------------- 5. the plain /kiosk page
def test_plain_kiosk_reprint_says_what_to_do_and_a_paired_one_reprints(hall: Hall) -> None:
    printers_ready(hall)
    status, t = call(hall, "POST", "/api/tickets", {"category": "B"})[:2]    # /kiosk, unpaired: no terminal
    assert status == 201 and t["ticket"]["terminal"] is None
    status, answer, _ = call(hall, "POST", f"/api/tickets/{t['ticket']['id']}/reprint", {})
    assert status == 403 and answer["error"]["code"] == "device_not_paired"
    message = answer["error"]["message"]
    assert re.search(r"请到窗口请工作人员补打", message) and "技术员" in message and "配对码" in message, message

    k2 = device(hall.pair(kiosk="k2"))          # the same /kiosk page, paired as k2 (its pad takes any kiosk code)
    status, answer, _ = call(hall, "POST", f"/api/tickets/{t['ticket']['id']}/reprint", {}, k2)
    assert status == 403 and "取号时本机尚未配对" in answer["error"]["message"], answer
    before = jobs(hall, "printer-2")
    status, mine = call(hall, "POST", "/api/tickets", {"category": "B"}, k2)[:2]
    assert status == 201 and mine["ticket"]["terminal"] == "k2" and mine["printer"]["name"] == "printer-2", mine
    assert hall.services.devices.emulators["printer-2"].wait_for_jobs(before + 1, WAIT_SECONDS)
    status, answer, _ = call(hall, "POST", f"/api/tickets/{mine['ticket']['id']}/reprint", {}, k2)
    assert status == 202 and answer["printer"]["name"] == "printer-2", answer
    assert hall.services.devices.emulators["printer-2"].wait_for_jobs(before + 2, WAIT_SECONDS)
