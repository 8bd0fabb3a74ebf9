"""The township hall service: queue, kiosk screens, devices and the county relay."""

__version__ = "0.1.0"
