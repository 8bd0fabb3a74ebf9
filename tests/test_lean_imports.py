"""Heavy libraries wait for their first use (issue 10 item 8: idle RSS ≤ 90 MB): a serving hall that never
builds a workbook must not carry openpyxl and the numpy it pulls in (~20 MB resident)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_service_starts_without_openpyxl_or_numpy() -> None:
    code = ("import json, sys\n"
            "import hall.services, hall.web.app, hall.cli.serve\n"
            "print(json.dumps(sorted(m for m in ('openpyxl', 'numpy') if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
