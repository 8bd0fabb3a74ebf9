"""Several kiosks, each with its own printer: config, routing of tickets, slips and reprints, printer state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.loader import ConfigError, demo_config_path, load_config
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.records.models import AppointmentIn
from hall.records.util import Actor
from hall.services import Services

from tests.conftest import app_client, login, pair_device, running_hall
from tests.conftest import write_config as _write
from tests.waiting import WAIT_SECONDS, wait_until

DEMO = demo_config_path().read_text(encoding="utf-8")
FAST = "probe_interval = 0.05, status_timeout = 0.4, reconnect_max = 0.2"


# ------------------------------------------------------------------ config
def test_demo_has_two_kiosks_each_with_its_own_printer() -> None:
    cfg = load_config(demo_config_path())
    assert [(k.id, k.printer) for k in cfg.kiosks] == [("k1", "printer"), ("k2", "printer-2")]
    assert cfg.ticket_printer_for("k2") == "printer-2"
    assert cfg.ticket_printer_for(None) == cfg.ticket_printer_for("nope") == "printer"   # the default


@pytest.mark.parametrize(("edit", "message"), [
    ('printer = "printer-2"', 'kiosks[1].printer: "nope" is not a [[devices]] printer'),
    ('id = "k2"', 'kiosks[1].id: duplicate value "k1"'),
])
def test_kiosk_cross_references_are_checked(tmp_path: Path, edit: str, message: str) -> None:
    replacement = edit.replace("printer-2", "nope").replace('"k2"', '"k1"')
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, DEMO.replace(edit, replacement, 1)))
    assert any(message in p for p in err.value.problems), err.value.problems


def test_a_kiosk_printer_must_print_tickets(tmp_path: Path) -> None:
    text = DEMO.replace('options = { profile = "POS-5890", cut = true }',
                        'options = { profile = "POS-5890", tickets = false }')
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert any("kiosks[1].printer" in p and "tickets = false" in p for p in err.value.problems)


def test_a_kiosk_naming_a_led_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, DEMO.replace('printer = "printer-2"', 'printer = "led-board"', 1)))
    assert any("kiosks[1].printer" in p for p in err.value.problems)


# ------------------------------------------------------------------ a hall with two kiosk printers
@pytest.fixture
def hall(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    """The demo's two kiosk printers (emulated, fast probes); no other devices, no county link."""
    text = re.sub(r"\[\[devices\]\][^\[]*", "", DEMO)
    text = re.sub(r'endpoint = "emulator://".*\n', "", text)
    text = re.sub(r"^idcard = .*\n", "", text, flags=re.M)    # its reader went with the other devices
    text += (f'\n[[devices]]\nname = "printer"\nkind = "printer"\nurl = "emulator://"\n'
             f'options = {{ qr = "native", {FAST} }}\n'
             f'\n[[devices]]\nname = "printer-2"\nkind = "printer"\nurl = "emulator://"\n'
             f'options = {{ profile = "POS-5890", cut = true, {FAST} }}\n')
    config: HallConfig = load_config(_write(tmp_path, text))
    yield from running_hall(config, tmp_path, clock,
                            ready=lambda svc: all(d.state == "ready" for d in svc.devices.by_kind("printer")))


@pytest.fixture
def api(hall: Services) -> Any:
    return app_client(hall)


def _emu(svc: Services, name: str) -> Any:
    return svc.devices.emulators[name]


def _numbers(svc: Services, name: str) -> list[str]:
    return [line for job in _emu(svc, name).last_jobs(50) for line in [job["text"]]]


def _printed(svc: Services, ticket_id: int) -> bool:
    return wait_until(lambda: svc.engine.ticket_status(ticket_id)["ticket"]["print_status"] == "printed")


def _issue(api: Any, category: str, kiosk: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"category": category}
    if kiosk is not None:
        body["kiosk"] = kiosk
    r = api.post("/api/tickets", json=body)
    assert r.status_code == 201, r.get_json()
    data: dict[str, Any] = r.get_json()
    return data


def test_a_kiosk_ticket_comes_out_of_that_kiosk_printer_only(hall: Services, api: Any) -> None:
    k2 = _issue(api, "B", "k2")
    assert k2["ticket"]["terminal"] == "k2" and k2["printer"]["name"] == "printer-2"
    assert _printed(hall, k2["ticket"]["id"])
    # a ticket without a kiosk goes to the default printer; queued after the k2 ticket, so once it has
    # printed, a wrongly taken k2 ticket would already be on the default printer's paper too
    plain = _issue(api, "C")
    assert plain["ticket"]["terminal"] is None and plain["printer"]["name"] == "printer"
    assert _printed(hall, plain["ticket"]["id"])
    k1 = _issue(api, "D", "k1")
    assert _printed(hall, k1["ticket"]["id"])
    on_default = " ".join(_numbers(hall, "printer"))
    on_k2 = " ".join(_numbers(hall, "printer-2"))
    assert "B001" in on_k2 and "B001" not in on_default
    assert "C001" in on_default and "D001" in on_default and "C001" not in on_k2 and "D001" not in on_k2
    assert _emu(hall, "printer-2").jobs[-1].qr and b"\x1dv0" in bytes(_emu(hall, "printer-2").jobs[-1].raw)


def test_an_unknown_kiosk_is_refused_before_a_number_is_taken(hall: Services, api: Any) -> None:
    r = api.post("/api/tickets", json={"category": "E", "kiosk": "k9"})
    assert r.status_code == 404 and "k9" in r.get_json()["error"]["message"]
    assert _issue(api, "E")["number"] == "E001"         # no number was used up


def test_reprints_come_out_where_the_citizen_stands(hall: Services, api: Any) -> None:
    t = _issue(api, "F", "k2")
    assert _printed(hall, t["ticket"]["id"])
    before = len(_emu(hall, "printer").jobs), len(_emu(hall, "printer-2").jobs)
    # a citizen at kiosk k1 may not reprint k2's ticket (tests/test_pairing.py); staff there may: on k1's printer
    k1 = pair_device(api, kiosk="k1")
    assert api.post(f"/api/tickets/{t['ticket']['id']}/reprint", json={"kiosk": "k1"}, headers=k1).status_code == 403
    staff = {"Authorization": f"Bearer {login(api)}"}
    r = api.post(f"/api/tickets/{t['ticket']['id']}/reprint", json={"kiosk": "k1"}, headers=staff)
    assert r.status_code == 202 and r.get_json()["printer"]["name"] == "printer"
    assert _emu(hall, "printer").wait_for_jobs(before[0] + 1, WAIT_SECONDS)
    assert "补打" in _emu(hall, "printer").jobs[-1].text
    # with no kiosk named (staff at a window): where it was taken
    r = api.post(f"/api/tickets/{t['ticket']['id']}/reprint", headers=staff)
    assert r.status_code == 202 and r.get_json()["printer"]["name"] == "printer-2"
    assert _emu(hall, "printer-2").wait_for_jobs(before[1] + 1, WAIT_SECONDS)
    assert api.post(f"/api/tickets/{t['ticket']['id']}/reprint", json={"kiosk": "zz"}).status_code == 404


def test_appointment_slip_prints_at_the_kiosk_that_checked_in(hall: Services, api: Any) -> None:
    assert hall.records is not None
    appt = hall.records.appointments.book(AppointmentIn.model_validate({
        "category": "A", "slot_start": "2026-11-25T09:00:00+08:00", "slot_end": "2026-11-25T09:30:00+08:00",
        "name": "赵小红", "phone": "13812345678"}), Actor("9001", "manager"))
    r = api.post("/api/appointments/check-in", json={"code": appt["code"], "kiosk": "k2"})
    assert r.status_code == 201, r.get_json()
    ticket_id = r.get_json()["ticket"]["id"]
    assert _printed(hall, ticket_id)
    assert hall.engine.ticket_status(ticket_id)["ticket"]["terminal"] == "k2"
    assert any("A001" in text for text in _numbers(hall, "printer-2"))
    assert not any("A001" in text for text in _numbers(hall, "printer"))


def test_each_kiosk_asks_the_state_of_its_own_printer(hall: Services, api: Any) -> None:
    _emu(hall, "printer-2").fault("paper out")
    assert wait_until(lambda: api.get("/api/printer?kiosk=k2").get_json()["state"] == "paper_out")
    k2 = api.get("/api/printer?kiosk=k2").get_json()
    assert k2["name"] == "printer-2" and k2["ready"] is False and "缺纸" in k2["message"]
    assert api.get("/api/printer?kiosk=k1").get_json()["ready"] is True
    assert api.get("/api/printer").get_json()["name"] == "printer"
    assert api.get("/api/printer?kiosk=zz").status_code == 404
    listing = api.get("/api/kiosks").get_json()
    assert listing["default_printer"] == "printer"
    states = {k["id"]: (k["printer"], k["printer_state"]["state"], k["url"]) for k in listing["kiosks"]}
    assert states == {"k1": ("printer", "ready", "/kiosk/k1"), "k2": ("printer-2", "paper_out", "/kiosk/k2")}
    from hall.netaddr import public_url

    assert listing["kiosks"][1]["link"] == public_url(hall.config.server) + "/kiosk/k2"
    # a ticket taken at k2 now keeps its number and says why nothing printed
    t = _issue(api, "B", "k2")
    assert t["printer"]["ready"] is False and t["printer"]["state"] == "paper_out"
    _emu(hall, "printer-2").fault("paper ok")
    assert wait_until(lambda: api.get("/api/printer?kiosk=k2").get_json()["ready"])


def test_kiosk_pages_know_their_terminal(api: Any) -> None:
    import json

    html = api.get("/kiosk/k2").get_data(as_text=True)
    data = json.loads(re.search(r'<script id="page-data" type="application/json">(.*?)</script>', html, re.S)[1])
    assert data["settings"]["kiosk"] == "k2" and data["settings"]["kiosk_name"].startswith("2号")
    plain = api.get("/kiosk").get_data(as_text=True)
    assert '"kiosk": null' in plain or '"kiosk":null' in plain
    assert api.get("/kiosk/nope").status_code == 404


def test_large_mode_default_per_kiosk_and_hall_wide(tmp_path: Path) -> None:
    """长辈模式 as a kiosk's starting state: its own `large_mode` wins over the hall's `kiosk_large_mode`."""
    cfg = load_config(demo_config_path())
    assert not cfg.kiosk_large_mode("k1") and not cfg.kiosk_large_mode(None)
    text = DEMO.replace('printer = "printer-2"', 'printer = "printer-2"\nlarge_mode = true', 1)
    cfg = load_config(_write(tmp_path, text))
    assert cfg.kiosk_large_mode("k2") and not cfg.kiosk_large_mode("k1") and not cfg.kiosk_large_mode(None)
    text = text.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\nkiosk_large_mode = true', 1)
    text = text.replace('printer = "printer"\n', 'printer = "printer"\nlarge_mode = false\n', 1)
    cfg = load_config(_write(tmp_path, text))
    assert cfg.kiosk_large_mode(None) and cfg.kiosk_large_mode("k2") and not cfg.kiosk_large_mode("k1")
