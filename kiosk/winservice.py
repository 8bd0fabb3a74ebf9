"""The hall service as a Windows service: the same `kiosk serve`, started by the SCM.

Why pywin32's `servicemanager` and not WinSW: WinSW is one more binary that
can only be fetched from its project's release page, which this build cannot
reach; pywin32 comes from PyPI as a wheel and its `pythonservice.exe` host is
signed and versioned together with the Python extension it loads.

Everything that decides *what* the service runs (paths, the serve argv, the
stop handshake) is plain Python below, so it is tested on Linux; only the thin
`HallService` class needs pywin32, and it is defined only where pywin32 is
importable.

Command line on the hall PC (from the install folder, as administrator):
    python.exe -m hall.winservice install|remove|start|stop|restart|debug
    python.exe -m hall.winservice paths      # where config, data and logs live
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import PlatformDirs

log = logging.getLogger("kiosk.winservice")

SERVICE_NAME = "HallKiosk"
DISPLAY_NAME = "乡镇便民服务中心大厅服务 (hall-kiosk)"
DESCRIPTION = "Township hall service: queue, kiosk, devices, county relay. 配置 C:\\ProgramData\\hall\\hall.toml"
# The machine-wide folder name, the same word as /etc/hall and /var/lib/hall on Linux.
APP_NAME = "hall"

try:  # pywin32 exists only on Windows; Linux imports this module for its tests.
    import servicemanager
    import win32service
    import win32serviceutil

    HAVE_PYWIN32 = True
except ImportError:
    HAVE_PYWIN32 = False


@dataclass(frozen=True)
class ServicePaths:
    """Where the service finds its config and keeps its data.

    A service runs as LocalSystem, whose per-user folders live under
    C:\\Windows\\System32\\config\\systemprofile: nobody would find the database
    there, and it is lost on a profile reset. So the service always names
    the machine-wide folders explicitly instead of relying on `paths.data_dir`.
    """

    config_file: Path
    data_dir: Path
    log_dir: Path


def service_paths(dirs: Any = None) -> ServicePaths:
    """C:\\ProgramData\\hall\\hall.toml, …\\data and …\\logs on Windows (from platformdirs)."""
    dirs = dirs if dirs is not None else PlatformDirs(APP_NAME, appauthor=False, multipath=False)
    base = Path(dirs.site_data_dir)
    return ServicePaths(config_file=base / "hall.toml", data_dir=base / "data", log_dir=base / "data" / "logs")


def serve_argv(paths: ServicePaths) -> list[str]:
    """The `kiosk serve` command line the service runs: no --host/--port, the config decides."""
    return ["serve", "--config", str(paths.config_file), "--data-dir", str(paths.data_dir)]


class ServiceRunner:
    """Runs `kiosk serve` in the calling thread until `stop()`; the SCM-facing part stays thin."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.stopping = threading.Event()
        self.exit_code: int | None = None
        self.error = ""

    def run(self) -> int:
        """Parse the argv with the real `kiosk` parser and serve; returns the exit code."""
        try:
            # Imported here, inside the guard: a broken install (a DLL that does not load)
            # must end as a failed service run the SCM can restart, not as a traceback.
            from hall.cli import build_parser
            from hall.cli.serve import serve_cmd

            args = build_parser().parse_args(self.argv)
            self.exit_code = serve_cmd(args, stop=self.stopping)
        except Exception:
            log.exception("hall service failed")
            self.error = traceback.format_exc(limit=3)
            self.exit_code = 1
        return self.exit_code

    def stop(self) -> None:
        self.stopping.set()


if HAVE_PYWIN32:

    class HallService(win32serviceutil.ServiceFramework):  # pragma: no cover - runs on Windows only
        _svc_name_ = SERVICE_NAME
        _svc_display_name_ = DISPLAY_NAME
        _svc_description_ = DESCRIPTION

        def __init__(self, args: Any) -> None:
            super().__init__(args)
            self.runner = ServiceRunner(serve_argv(service_paths()))

        def SvcStop(self) -> None:
            # Stopping closes the database and devices: tell the SCM it may take a few seconds.
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=30_000)
            self.runner.stop()

        def SvcDoRun(self) -> None:
            servicemanager.LogInfoMsg(f"{SERVICE_NAME}: starting {' '.join(self.runner.argv)}")
            code = self.runner.run()
            if code != 0 and not self.runner.stopping.is_set():
                servicemanager.LogErrorMsg(
                    f"{SERVICE_NAME}: kiosk serve exited with {code}; see the log folder "
                    f"{service_paths().log_dir}\n{self.runner.error}")
                # End the process without reporting SERVICE_STOPPED: the SCM treats that as a
                # crash and runs the recovery actions the installer set (restart after 5 s),
                # like systemd's Restart=on-failure.
                import os

                os._exit(code)
            servicemanager.LogInfoMsg(f"{SERVICE_NAME}: stopped")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["paths"]:
        p = service_paths()
        print(f"config {p.config_file}\ndata   {p.data_dir}\nlogs   {p.log_dir}")
        return 0
    if not HAVE_PYWIN32:
        print("Windows 服务需要 pywin32，只能在 Windows 上安装 / the Windows service needs pywin32 (Windows only)",
              file=sys.stderr)
        return 2
    if not argv:  # started by the SCM through pythonservice.exe is handled there; this is the console
        print(__doc__)
        return 2
    # The class by its import name: pythonservice.exe imports it through the install's
    # python311._pth path list, not from this file's folder.
    # `install` of an existing service falls through to `update` inside pywin32.
    err = win32serviceutil.HandleCommandLine(  # pragma: no cover
        HallService, serviceClassString=f"{__spec__.name if __spec__ else __name__}.HallService",
        argv=[sys.argv[0], *argv])
    return 1 if err else 0  # pragma: no cover - the installer checks this code


if __name__ == "__main__":
    sys.exit(main())
