"""Device drivers: workers, transports, wire protocols and the byte-level emulators.

Drivers see the application only through `contracts.py` (an event source, a
clock, a text redactor), which the composition root (`hall.services`) fills
with the real hub, clock and `redact_text`; no module here imports
`hall.events`, `hall.queue` or `hall.security` (tests/test_driver_imports.py).
A new device kind adds a package here and one line in `factory.BUILDERS`.
"""
