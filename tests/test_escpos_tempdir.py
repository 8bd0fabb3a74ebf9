"""python-escpos's capabilities pickle goes to a folder the process removes at exit (no temp folder per run)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def test_a_process_that_prints_leaves_no_escpos_folder_behind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["TMPDIR"] = str(tmp_path)          # tempfile.mkdtemp (ours and escpos's own) lands here
    code = ("import os\n"
            "from hall.drivers.printer.ticket import print_options\n"
            "print_options({'profile': 'POS-5890'})\n"
            "import escpos.capabilities as c\n"
            "print(c.pickle_dir)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         check=True).stdout.strip()
    used = Path(out)
    assert used.parent == tmp_path and used.name.startswith("hall-escpos-")     # our folder holds the pickle
    assert list(tmp_path.iterdir()) == []         # removed at exit, with the folder escpos made for itself
    assert tempfile.gettempdir() != str(tmp_path)                              # the test did not touch ours
