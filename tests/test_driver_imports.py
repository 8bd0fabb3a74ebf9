"""Drivers depend on the small contracts in drivers/contracts.py, never on the app's hub, queue or security.

Every module under drivers/ is parsed (not imported, so a module that is only
loaded for one device kind is checked too); any import of a forbidden module,
in any form (absolute, `from hall import …`, relative, under TYPE_CHECKING,
inside a function, or `importlib.import_module("…")`), fails naming file:line.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from hall.drivers.contracts import Clock, EventSource, Redactor, ZoneClock

ROOT = Path(__file__).resolve().parents[1]
DRIVERS = ROOT / "drivers"
FORBIDDEN = ("hall.events", "hall.queue", "hall.security")


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def _package_of(path: Path) -> list[str]:
    """hall.drivers.led for drivers/led/device.py: the base of its relative imports."""
    rel = path.relative_to(DRIVERS).with_suffix("").parts
    parts = ["hall", "drivers", *rel]
    return parts[:-1]           # the module's own name, or "__init__" for a package's own file


def forbidden_imports(source: str, path: Path) -> list[str]:
    """'file:line module' for each import of a forbidden module in `source` (the file at `path`)."""
    where = path.relative_to(ROOT).as_posix()
    hits: list[str] = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(path)
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [module] + [f"{module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in {"import_module", "__import__"}:
                names = [node.args[0].value]
        bad = sorted({n for n in names if _forbidden(n)})
        if bad:
            hits.append(f"{where}:{node.lineno} imports {bad[0]}")
    return hits


def driver_files() -> list[Path]:
    return sorted(DRIVERS.rglob("*.py"))


def test_no_driver_imports_the_app_hub_queue_or_security() -> None:
    files = driver_files()
    assert len(files) > 30 and DRIVERS / "led" / "device.py" in files     # the walk really saw the drivers
    hits = [h for f in files for h in forbidden_imports(f.read_text("utf-8"), f)]
    assert not hits, "drivers must use hall.drivers.contracts instead:\n" + "\n".join(hits)


@pytest.mark.parametrize("source", [
    "import hall.events",
    "import hall.queue.clock as c",
    "from hall.security import redact_text",
    "from hall import events",
    "from hall import drivers, queue",
    "from ... import security",                       # drivers/led/x.py: hall.security
    "from ...queue.clock import Clock",
    "def f():\n    from hall.events import Event",
    "if TYPE_CHECKING:\n    from hall.events import EventHub",
    "import importlib\nimportlib.import_module('hall.queue.engine')",
    "__import__('hall.security')",
])
def test_the_check_sees_every_form_of_import(source: str) -> None:
    (hit,) = forbidden_imports(source, DRIVERS / "led" / "x.py")
    assert hit.startswith("drivers/led/x.py:")


@pytest.mark.parametrize("source", [
    "from hall.drivers.contracts import Clock",
    "from .. import contracts",                       # drivers/led/x.py: hall.drivers.contracts
    "from . import protocol",
    "import queue",                                   # the standard library's queue is fine
    "from hall.config.schema import Device",
    "from hall.eventsource import x",                 # a prefix is not the module
])
def test_the_check_lets_other_imports_pass(source: str) -> None:
    assert forbidden_imports(source, DRIVERS / "led" / "x.py") == []


def test_the_app_objects_satisfy_the_driver_contracts() -> None:
    """What the composition root passes is what drivers expect (mypy checks the types; this, the behaviour)."""
    from hall.events import EventHub
    from hall.queue.clock import Clock as HallClock
    from hall.security import redact_text

    hub: EventSource = EventHub()
    heard: list[tuple[str, Any]] = []
    hub.add_listener(lambda ev: heard.append((ev.kind, ev.data["n"])))
    hub.publish("printer.status", {"n": 1})
    assert heard == [("printer.status", 1)]
    clock: Clock = HallClock()
    assert clock.now().tzinfo is not None and clock.today() == clock.now().date()
    redact: Redactor = redact_text
    assert redact("电话 13812345678") == "电话 138****5678"


def test_the_default_clock_keeps_the_halls_zone() -> None:
    """A worker built without the hall's clock reads naive event times in Asia/Shanghai, as before."""
    from hall.queue.clock import Clock as HallClock

    default, app = ZoneClock(), HallClock()
    assert default.now().utcoffset() == app.now().utcoffset()
    assert str(default.tz) == str(app.tz) == "Asia/Shanghai"
