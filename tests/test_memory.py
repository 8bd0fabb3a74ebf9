"""Memory (issue 10 item 8): one-off jobs leave nothing resident in the service process.

Each check runs in a fresh interpreter, as the service would, so a module another test
imported cannot hide or fake the result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


_HALL_WITHOUT_COUNTY = """
import json, sys
from pathlib import Path
from hall.config.loader import demo_config_path, load_config
from hall.services import build_services
from hall.web.app import create_app

cfg = load_config(demo_config_path())
cfg = cfg.model_copy(update={"county": cfg.county.model_copy(update={"endpoint": ""})})
svc = build_services(cfg, Path(sys.argv[1]), with_devices=False)
client = create_app(svc, {"TESTING": True}).test_client()
status = client.post("/api/tickets", json={"category": "A"}, headers={"Origin": "http://localhost"}).status_code
svc.stop()
print(json.dumps({"status": status, "jsonschema": "jsonschema" in sys.modules}))
"""


def test_a_hall_without_a_county_link_does_not_load_the_wire_validator(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _HALL_WITHOUT_COUNTY, str(tmp_path)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"status": 201, "jsonschema": False}
