"""Build the hall service's Debian package (`scripts/package [linux]`).

Why a .deb: Debian 12, UOS and Kylin all install it with apt, which pulls the
system libraries the service needs (libzbar0, espeak-ng, libusb …) from the
distribution's own mirror, and dpkg records every file for a clean removal.
Why wheels and not a ready virtualenv: a venv is not relocatable and must be
built by the target's own /usr/bin/python3, so the package carries the pinned
wheelhouse (packaging/linux/requirements.lock, per architecture) and its
postinst builds /opt/hall/releases/<version>/venv offline (`pip --no-index`).
Releases sit side by side behind /opt/hall/current, so `hall-update` can roll
back by switching one symlink.

    scripts/package                       amd64 package of the checkout's version into dist/
    scripts/package --arch arm64          the same for arm64 (wheels for manylinux aarch64)
    scripts/package --version 0.1.1+test --extra-migration 0900_x.sql
                                          a test build with one more migration (never committed)
    scripts/package --relock              re-resolve the lock for CPython 3.11 on manylinux
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINUX = REPO / "packaging" / "linux"
LOCK = REPO / "packaging" / "linux" / "requirements.lock"
PACKAGE = "hall-kiosk"
PYTHON_VERSION = "3.11"  # Debian 12's python3; the wheels must match the interpreter that builds the venv
# UOS 20 and Kylin V10 ship glibc 2.28: no wheel may need a newer one.
PLATFORMS = {
    "amd64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"],
    "arm64": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"],
}
DEPENDS = [
    "python3 (>= 3.11)", "python3-venv", "libzbar0", "espeak-ng", "libusb-1.0-0", "ca-certificates", "passwd",
]
RECOMMENDS = ["alsa-utils", "fonts-noto-cjk"]
SUGGESTS = ["chromium"]     # only kiosk and board PCs run the browser
MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def project_version() -> str:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def wheel_cache(arch: str) -> Path:
    """Downloaded wheels, kept outside the clone and keyed by the lock's content."""
    key = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]
    base = Path(os.environ.get("HALL_PACKAGE_CACHE", Path.home() / ".cache" / "hall-package"))
    return base / f"wheels-{arch}-{key}"


def pip_target_args(arch: str) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--abi", "cp311", "--abi", "abi3", "--abi", "none"]
    for plat in PLATFORMS[arch]:
        args += ["--platform", plat]
    return args


def wheelhouse(arch: str) -> Path:
    cache = wheel_cache(arch)
    if (cache / ".complete").exists():
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    # A private temp folder renamed into place: builds running side by side never see half a wheelhouse.
    tmp = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    try:
        run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             *pip_target_args(arch), "-r", str(LOCK), "-d", str(tmp)])
        (tmp / ".complete").write_text("")
        shutil.rmtree(cache, ignore_errors=True)   # an incomplete one left by an interrupted run
        tmp.rename(cache)
    except OSError:
        if not (cache / ".complete").exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


def relock() -> None:
    """Resolve pyproject's runtime dependencies for the target interpreter and pin what came out."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             *pip_target_args("amd64"), "-d", tmp, *deps])
        pins = sorted({re.sub(r"[-_.]+", "-", w.split("-")[0]).lower() + "==" + w.split("-")[1]
                       for w in os.listdir(tmp) if w.endswith(".whl")})
    header = [line for line in LOCK.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    LOCK.write_text("\n".join(header + pins) + "\n", encoding="utf-8")
    print(f"{LOCK}: {len(pins)} pins")


def source_tree(dest: Path, version: str, extra_migration: Path | None) -> None:
    """The checkout's files (tracked and new, not ignored), with the build's version and migration."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    pyproject = dest / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^version = "[^"]*"', f'version = "{version}"', text, count=1)
    pyproject.write_text(text, encoding="utf-8")
    if extra_migration is not None:
        m = MIGRATION_RE.match(extra_migration.name)
        if not m or int(m.group(1)) < 900:
            raise SystemExit(f"extra migration must be named 09NN_name.sql (test builds only): {extra_migration.name}")
        shutil.copy2(extra_migration, dest / "kiosk" / "store" / "migrations" / extra_migration.name)


def hall_wheel(version: str, extra_migration: Path | None, out: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="hall-src-") as tmp:
        src = Path(tmp) / "src"
        source_tree(src, version, extra_migration)
        run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
             "-w", str(out), str(src)])
    found = list(out.glob("hall_kiosk-*.whl"))
    if len(found) != 1:
        raise SystemExit(f"expected one hall_kiosk wheel in {out}, found {found}")
    return found[0]


# dup-ok: package_windows.py fills its installer template alike; each build script runs alone on its own build host
def render(template: Path, **values: str) -> str:
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.search(r"@[A-Z_]+@", text)
    if left:
        raise SystemExit(f"{template}: unreplaced placeholder {left.group()}")
    return text


def stage(root: Path, version: str, arch: str, wheels: list[Path]) -> None:
    dist = root / "opt" / "hall" / "dist" / version
    (dist / "wheels").mkdir(parents=True)
    for w in wheels:
        shutil.copy2(w, dist / "wheels" / w.name)
    shutil.copy2(LOCK, dist / "requirements.lock")

    def put(src: Path, rel: str, mode: int, **values: str) -> None:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(src, **values), encoding="utf-8")
        target.chmod(mode)

    put(LINUX / "hall.service", "lib/systemd/system/hall.service", 0o644)
    put(LINUX / "hall_update.py", "usr/sbin/hall-update", 0o755)
    put(LINUX / "hall-browser", "usr/lib/hall/hall-browser", 0o755)
    put(LINUX / "connecting.html", "usr/share/hall/connecting.html", 0o644)
    put(REPO / "docs" / "install.md", "usr/share/doc/hall-kiosk/install.md", 0o644)
    (root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    os.symlink("/opt/hall/current/venv/bin/kiosk", root / "usr" / "bin" / "kiosk")

    debian = root / "DEBIAN"
    debian.mkdir()
    for script in ("postinst", "prerm", "postrm"):
        put(LINUX / script, f"DEBIAN/{script}", 0o755, VERSION=version)
    size_kb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024
    control = {
        "Package": PACKAGE,
        "Version": version,
        "Architecture": arch,
        "Maintainer": "Hall service team <hall@localhost>",
        "Installed-Size": str(size_kb),
        "Depends": ", ".join(DEPENDS),
        "Recommends": ", ".join(RECOMMENDS),
        "Suggests": ", ".join(SUGGESTS),
        "Section": "misc",
        "Priority": "optional",
        "Description": "township service hall device service (乡镇便民服务中心大厅服务)\n"
                       " Queue, kiosk, window screens, devices and the county relay of one hall,\n"
                       " run by systemd as the `hall` user. Config in /etc/hall, data in /var/lib/hall.",
    }
    (debian / "control").write_text("".join(f"{k}: {v}\n" for k, v in control.items()), encoding="utf-8")


def build(version: str, arch: str, extra_migration: Path | None, out: Path) -> Path:
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hall-deb-") as tmp:
        own = hall_wheel(version, extra_migration, Path(tmp) / "own")
        deps = sorted(wheelhouse(arch).glob("*.whl"))
        root = Path(tmp) / "root"
        stage(root, version, arch, [own, *deps])
        deb = out / f"{PACKAGE}_{version}_{arch}.deb"
        # Wheels are already zip-compressed: gzip saves 1 % (96.7 → 95.8 MB) for ~4 s a build, xz a minute.
        run(["dpkg-deb", "--root-owner-group", "-Znone", "--build", str(root), str(deb)], quiet=True)
    print(f"{deb} ({deb.stat().st_size / 1e6:.1f} MB, {time.monotonic() - started:.0f} s)")
    return deb


def run(cmd: list[str], quiet: bool = False) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd[:6])} …")
    if not quiet and proc.stdout.strip():
        print(proc.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/package", description="build the Linux .deb")
    p.add_argument("--arch", choices=sorted(PLATFORMS), default="amd64")
    p.add_argument("--version", help="package version (default: pyproject's)")
    p.add_argument("--extra-migration", type=Path, help="test builds only: a 09NN_*.sql added to the migrations")
    p.add_argument("--out", type=Path, default=REPO / "dist")
    p.add_argument("--relock", action="store_true", help="re-resolve packaging/linux/requirements.lock")
    args = p.parse_args(argv)
    if args.relock:
        relock()
        return 0
    if shutil.which("dpkg-deb") is None:
        print("dpkg-deb not found: apt-get install dpkg-dev / 未找到 dpkg-deb", file=sys.stderr)
        return 2
    build(args.version or project_version(), args.arch, args.extra_migration, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
