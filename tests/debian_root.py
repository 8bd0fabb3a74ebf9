"""A fresh Debian bookworm root for install tests, cached outside the clone.

Building a root takes ~30 s plus the apt downloads; a test must not pay that
every run, and a clean clone (CI) must not lose it, so the finished root lives
in /var/cache/hall-test (override: HALL_TEST_ROOT_CACHE) under a name that
hashes the package list: a change to the package's Depends builds a new one.
Each test gets its own throw-away copy: an overlay mount over the cached root
(instant), or `cp -a` where overlayfs is missing. /proc and /dev are
bind-mounted in and always unmounted again, even when the test fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

MIRROR = os.environ.get("HALL_TEST_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"


def cache_dir() -> Path:
    return Path(os.environ.get("HALL_TEST_ROOT_CACHE", "/var/cache/hall-test"))


def why_not_available() -> str | None:
    """The reason install tests cannot run here, or None when they can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root (chroot, mounts) / 需要 root 权限"
    for tool in ("debootstrap", "dpkg-deb", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (scripts/setup installs it) / 未安装 {tool}"
    return None


def cached_root(packages: Sequence[str]) -> Path:
    """A minbase bookworm root with `packages` installed through apt (built once)."""
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:12]
    root = cache_dir() / f"{SUITE}-{key}"
    if (root / ".hall-root-complete").exists():
        return root
    cache_dir().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{SUITE}-{key}.", dir=cache_dir()))
    try:
        subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(work), MIRROR],
                       check=True, capture_output=True)
        shutil.copy("/etc/resolv.conf", work / "etc/resolv.conf")
        with mounted(work):
            chroot(work, "apt-get", "update", "-qq")
            chroot(work, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages,
                   env={"DEBIAN_FRONTEND": "noninteractive"})
            chroot(work, "apt-get", "clean")
        (work / ".hall-root-complete").write_text(" ".join(sorted(packages)) + "\n")
        try:
            work.rename(root)
        except OSError:
            if not (root / ".hall-root-complete").exists():
                raise
            shutil.rmtree(work, ignore_errors=True)   # another run built the same root meanwhile
    except BaseException:
        unmount_all(work)
        shutil.rmtree(work, ignore_errors=True)
        raise
    return root


def chroot(root: Path, *cmd: str, env: dict[str, str] | None = None, check: bool = True,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command inside the root with a plain environment; output is captured for the failure message."""
    full_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                "HOME": "/root", **(env or {})}
    proc = subprocess.run(["chroot", str(root), *cmd], env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"chroot {' '.join(cmd)} → {proc.returncode}\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@contextmanager
def mounted(root: Path) -> Iterator[Path]:
    """/proc and /dev inside the root for the duration of the block."""
    (root / "proc").mkdir(exist_ok=True)
    (root / "dev").mkdir(exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
        subprocess.run(["mount", "--rbind", "/dev", str(root / "dev")], check=True)
        subprocess.run(["mount", "--make-rslave", str(root / "dev")], check=True)
        yield root
    finally:
        unmount_all(root)


def unmount_all(root: Path) -> None:
    """Every mount at or below `root`, deepest first (lazy, so a busy one cannot stick)."""
    base = str(root.resolve())
    points = []
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        for line in fh:
            point = line.split()[1].replace("\\040", " ")
            if point == base or point.startswith(base + "/"):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


@contextmanager
def fresh_copy(base: Path) -> Iterator[Path]:
    """A writable copy of the cached root that vanishes afterwards."""
    work = Path(tempfile.mkdtemp(prefix="hall-root-", dir=cache_dir()))
    merged = work / "root"
    for d in ("upper", "work", "root"):
        (work / d).mkdir()
    overlay = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={base},upperdir={work / 'upper'},workdir={work / 'work'}", str(merged)],
        capture_output=True)
    if overlay.returncode != 0:
        subprocess.run(["cp", "-a", f"{base}/.", str(merged)], check=True)
    try:
        with mounted(merged):
            yield merged
    finally:
        unmount_all(merged)
        with suppress(OSError):
            shutil.rmtree(work)
