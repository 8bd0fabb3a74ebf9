"""Memory (issue 10 item 8): one-off jobs leave nothing resident in the service process.

Each check runs in a fresh interpreter, as the service would, so a module another test
imported cannot hide or fake the result."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from hall.memory import TCACHE_OFF, QuietTrim, lean_malloc_command
from openpyxl import load_workbook

_INDEX_THEN_SEARCH = """
import json, sys
from pathlib import Path
from hall.config.loader import demo_config_path, load_config
from hall.records.catalog import CatalogStore

cfg = load_config(demo_config_path())
store = CatalogStore(Path(sys.argv[1]), categories=[c.prefix for c in cfg.categories])
store.warm()
after_index = sorted(m for m in sys.modules if m.split(".")[0] == "pypinyin")
found = [i.name for i in store.current.search("dbsq")] + [i.name for i in store.current.search("dibaoshenqing")]
print(json.dumps({"after_index": after_index, "found": found}))
"""


def test_pypinyin_is_let_go_once_the_guide_index_is_built(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _INDEX_THEN_SEARCH, str(tmp_path)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["after_index"] == []                                  # its ~10 MB table is not kept
    assert result["found"] == ["最低生活保障申请", "最低生活保障申请"]     # the readings are: pinyin still finds 低保


# The demo hall without its county link, served by a Flask test client (each check adds its requests).
_DEMO_HALL = """
import json, sys
from pathlib import Path
from hall.config.loader import demo_config_path, load_config
from hall.services import build_services
from hall.web.app import create_app

cfg = load_config(demo_config_path())
cfg = cfg.model_copy(update={"county": cfg.county.model_copy(update={"endpoint": ""})})
svc = build_services(cfg, Path(sys.argv[1]), with_devices=False)
client = create_app(svc, {"TESTING": True}).test_client()
"""

_HALL_WITHOUT_COUNTY = _DEMO_HALL + """
status = client.post("/api/tickets", json={"category": "A"}, headers={"Origin": "http://localhost"}).status_code
svc.stop()
print(json.dumps({"status": status, "jsonschema": "jsonschema" in sys.modules}))
"""


def test_a_hall_without_a_county_link_does_not_load_the_wire_validator(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _HALL_WITHOUT_COUNTY, str(tmp_path)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"status": 201, "jsonschema": False}


_SERVED_APP = """
import json, sys
from pathlib import Path
from wsgiref.util import setup_testing_defaults
from hall.config.loader import demo_config_path, load_config
from hall.services import build_services
from hall.web.app import create_app

cfg = load_config(demo_config_path())
cfg = cfg.model_copy(update={"county": cfg.county.model_copy(update={"endpoint": ""})})
svc = build_services(cfg, Path(sys.argv[1]), with_devices=False)
app = create_app(svc)
environ = {"PATH_INFO": "/healthz"}
setup_testing_defaults(environ)
statuses = []
body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
svc.stop()
print(json.dumps({"status": statuses[0], "loaded": sorted(m for m in ("flask.testing", "click.testing", "pdb")
                                                           if m in sys.modules)}))
"""


def test_the_served_app_does_not_load_test_tools(tmp_path: Path) -> None:
    """The app's test client (hall.web.same_origin_client) is imported only when a test asks for one:
    flask.testing brings click.testing and pdb, which a hall's service never uses."""
    out = subprocess.run([sys.executable, "-c", _SERVED_APP, str(tmp_path)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"status": "200 OK", "loaded": []}


_MANAGER_DOWNLOADS = _DEMO_HALL + """
origin = {"Origin": "http://localhost"}
token = client.post("/api/session", json={"staff_id": "9001", "pin": "hall-8888"}, headers=origin).get_json()["token"]
r = client.get("/api/manage/xlsx/daily", headers={"Authorization": f"Bearer {token}"})
Path(sys.argv[1], "daily.xlsx").write_bytes(r.data)
svc.stop()
print(json.dumps({"status": r.status_code, "loaded": sorted(m for m in ("openpyxl", "numpy") if m in sys.modules)}))
"""


def test_a_managers_download_does_not_load_openpyxl_in_the_service(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _MANAGER_DOWNLOADS, str(tmp_path)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"status": 200, "loaded": []}
    book = load_workbook(tmp_path / "daily.xlsx")       # built by the child, whole
    assert book.sheetnames == ["总体情况", "各窗口", "工作人员", "业务类别", "分时段取号"]


def test_a_quiet_hall_trims_once_after_a_burst_of_work() -> None:
    trims: list[float] = []
    trimmed = threading.Event()

    def trim() -> None:
        trims.append(time.monotonic())
        trimmed.set()

    quiet = QuietTrim(quiet=0.5, trim=trim)
    for _ in range(20):                          # a burst: one waiting thread, one trim after it
        quiet.touch()
    last = time.monotonic()
    quiet.touch()
    assert trimmed.wait(60)
    assert len(trims) == 1 and trims[0] - last >= 0.5       # not before the hall was quiet
    trimmed.clear()
    quiet.touch()                                # the next work arms it again
    assert trimmed.wait(60) and len(trims) == 2


def test_the_lean_malloc_re_run_only_where_glibc_reads_it() -> None:
    argv = ["/opt/hall/venv/bin/python", "/opt/hall/venv/bin/kiosk", "serve", "--config", "/etc/hall/hall.toml"]
    run = lean_malloc_command({"PATH": "/usr/bin"}, system="linux", libc="glibc", argv=argv)
    assert run == (argv, {"PATH": "/usr/bin", "GLIBC_TUNABLES": TCACHE_OFF})
    run = lean_malloc_command({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, system="linux", libc="glibc",
                              argv=argv)
    assert run is not None and run[1]["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{TCACHE_OFF}"
    # already re-run (or a technician's own value): no second exec, no loop
    assert lean_malloc_command({"GLIBC_TUNABLES": TCACHE_OFF}, system="linux", libc="glibc", argv=argv) is None
    assert lean_malloc_command({}, system="linux", libc="", argv=argv) is None          # musl: no tcache
    assert lean_malloc_command({}, system="win32", libc="", argv=argv) is None          # Windows service
