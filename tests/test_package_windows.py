"""The Windows installer build, without the network: layout fixes, path file, lock, NSIS script.

`scripts/package windows` downloads ~80 MB of wheels and compresses ~250 MB, so
the full build is not part of the suite (docs/install.md gives its figures).
Here the same functions run on a stub payload, and makensis compiles the real
installer.nsi into a real (tiny) installer.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("package_windows", ROOT / "scripts" / "package_windows.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["package_windows"] = mod
    spec.loader.exec_module(mod)
    return mod


pw = _load()


def _stub_stage(tmp: Path) -> Path:
    """What pip --target and the embeddable zip leave, in miniature."""
    stage = tmp / "stage"
    site = stage / "Lib" / "site-packages"
    (site / "win32").mkdir(parents=True)
    (site / "win32" / "pythonservice.exe").write_bytes(b"MZ stub service host")
    (site / "pywin32_system32").mkdir()
    for dll in ("pywintypes311.dll", "pythoncom311.dll"):
        (site / "pywin32_system32" / dll).write_bytes(b"MZ " + dll.encode())
    (site / "bin").mkdir()
    (site / "bin" / "kiosk").write_text("#!/linux/launcher\n")
    (site / "hall").mkdir()
    (site / "hall" / "winservice.py").write_text("# stub\n")
    for name in ("python.exe", "python311.dll", "python311.zip"):
        (stage / name).write_bytes(b"MZ " + name.encode())
    (stage / "python311._pth").write_text("python311.zip\n.\n\n#import site\n")
    return stage


def test_fix_layout_puts_the_service_host_next_to_python(tmp_path: Path) -> None:
    stage = _stub_stage(tmp_path)
    pw.fix_layout(stage)
    assert (stage / "pythonservice.exe").read_bytes() == b"MZ stub service host"
    assert not (stage / "Lib" / "site-packages" / "win32" / "pythonservice.exe").exists()
    assert (stage / "pywintypes311.dll").exists() and (stage / "pythoncom311.dll").exists()
    assert not (stage / "Lib" / "site-packages" / "bin").exists()
    pth = (stage / "python311._pth").read_bytes().decode()
    entries = pth.split("\r\n")
    # The stdlib zip first, site-packages and pywin32's folders, and site enabled (for pywin32.pth).
    assert entries[0] == "python311.zip"
    assert r"Lib\site-packages" in entries and r"Lib\site-packages\win32\lib" in entries
    assert "import site" in entries and "#import site" not in pth
    assert (stage / "kiosk.cmd").read_bytes() == b'@"%~dp0python.exe" -m hall.cli %*\r\n'


def test_build_does_not_record_the_temporary_wheel_location(tmp_path: Path) -> None:
    info = tmp_path / "hall_kiosk-0.1.0.dist-info"
    info.mkdir()
    (info / "direct_url.json").write_text('{"url": "file:///tmp/hall-win-x1y2/dist/hall_kiosk.whl"}')
    (info / "RECORD").write_text("hall/__init__.py,sha256=abc,1\n"
                                 "hall_kiosk-0.1.0.dist-info/direct_url.json,sha256=def,2\n")
    pw.forget_wheel_location(tmp_path)
    assert not (info / "direct_url.json").exists()
    assert (info / "RECORD").read_text() == "hall/__init__.py,sha256=abc,1\n"


def test_fix_layout_fails_clearly_without_pywin32(tmp_path: Path) -> None:
    stage = _stub_stage(tmp_path)
    (stage / "Lib" / "site-packages" / "win32" / "pythonservice.exe").unlink()
    with pytest.raises(pw.BuildError, match=r"pythonservice\.exe"):
        pw.fix_layout(stage)


def test_the_committed_lock_pins_every_dependency_by_hash() -> None:
    pins = pw.parse_lock(pw.LOCK.read_text(encoding="utf-8"))
    pw.check_lock_covers_project(pins)          # every pyproject dependency, and pywin32
    assert "pywin32" in pins and "hall-kiosk" not in pins
    assert all(len(h) == 1 and len(h[0]) == 64 for _, h in pins.values())


def test_lock_check_names_what_is_missing(tmp_path: Path) -> None:
    pins = pw.parse_lock(pw.LOCK.read_text(encoding="utf-8"))
    del pins["waitress"]
    with pytest.raises(pw.BuildError, match="waitress"):
        pw.check_lock_covers_project(pins)
    with pytest.raises(pw.BuildError, match="cannot parse"):
        pw.parse_lock("flask>=3\n")


def test_authenticode_check_needs_matching_digests_and_names_the_signer() -> None:
    sample = (
        "Current message digest    : 03A6DEA94B64 \n"
        "Calculated message digest : 03A6DEA94B64 \n\n"
        "Signer's certificate:\n\t------------------\n\tSigner #0:\n"
        "\t\tSubject: /C=US/ST=Oregon/L=Beaverton/O=Python Software Foundation/CN=Python Software Foundation\n"
    )
    assert pw.authenticode_check(sample) == "Python Software Foundation"
    tampered = sample.replace("Calculated message digest : 03A6", "Calculated message digest : FFA6")
    assert pw.authenticode_check(tampered) is None
    assert pw.authenticode_check("Signature verification: failed\n") is None


def test_rendered_script_has_every_placeholder_filled(tmp_path: Path) -> None:
    text = pw.render_nsi(pw.NSI.read_text(encoding="utf-8"), version="0.1.0", port=8080, stage=tmp_path / "s",
                         example=tmp_path / "e.toml", outfile=tmp_path / "o.exe")
    assert "@" not in "".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(";"))
    assert '!define PORT "8080"' in text and "localport=${PORT}" in text
    assert "--kiosk \"$KioskUrl\" --edge-kiosk-type=fullscreen --no-first-run --kiosk-printing" in text
    assert "-m hall.winservice --startup auto install" in text
    assert 'VIProductVersion "0.1.0.0"' in text
    with pytest.raises(pw.BuildError, match="@NOPE@"):
        pw.render_nsi("x @VERSION@ @NOPE@", version="1", port=1, stage=tmp_path, example=tmp_path,
                      outfile=tmp_path)


@pytest.mark.skipif(shutil.which("makensis") is None, reason="NSIS not installed (scripts/setup installs it)")
def test_makensis_compiles_the_installer_from_a_stub_payload(tmp_path: Path) -> None:
    stage = _stub_stage(tmp_path)
    pw.fix_layout(stage)
    example = tmp_path / "hall.example.toml"
    example.write_text("# example\n", encoding="utf-8")
    out = tmp_path / "out" / "hall-kiosk-0.1.0-win64-setup.exe"
    pw.compile_installer(stage, example, out, version="0.1.0", port=8080, epoch=1_700_000_000,
                         work=tmp_path)
    data = out.read_bytes()
    assert data[:2] == b"MZ" and b"Nullsoft" in data
    pe = int.from_bytes(data[0x3C:0x40], "little")
    assert data[pe:pe + 6] == b"PE\0\0\x64\x86"     # machine AMD64: a 64-bit installer
    # Same input, same bytes: the build is reproducible.
    again = tmp_path / "out" / "again.exe"
    pw.compile_installer(stage, example, again, version="0.1.0", port=8080, epoch=1_700_000_000,
                         work=tmp_path)
    assert again.read_bytes() == data
    if shutil.which("7z"):
        listing = subprocess.run(["7z", "l", str(out)], capture_output=True, text=True).stdout
        for name in ("python.exe", "pythonservice.exe", "python311._pth", "kiosk.cmd", "hall.example.toml"):
            assert name in listing


def test_the_installers_public_address_snippet_runs_against_a_real_config(tmp_path: Path) -> None:
    """The kiosk shortcut's default address comes from a Python one-liner in installer.nsi: run it here."""
    import re

    from hall.config.loader import demo_config_path

    nsi = pw.NSI.read_text(encoding="utf-8")
    snippet = re.search(r'python\.exe" -c "([^"]+)"', nsi)
    assert snippet, "installer.nsi no longer asks the config for the public address"
    cfg = tmp_path / "hall.toml"
    text = demo_config_path().read_text(encoding="utf-8")
    cfg.write_text(re.sub(r"(?m)^public_url = .*$", "", text).replace(
        "[server]", '[server]\npublic_url = "http://192.168.7.20:8080"', 1), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", snippet.group(1), str(cfg)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "http://192.168.7.20:8080"
