"""The township hall service: queue, kiosk screens, devices and the county relay."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

try:
    # The installed distribution's version is the one truth: `kiosk version`, /healthz,
    # the migrations' bookkeeping and the update script all read it from here.
    __version__ = _dist_version("hall-kiosk")
except PackageNotFoundError:  # running from a bare checkout that was never installed
    __version__ = "0.0.0+unknown"
