"""`kiosk serve`: run the hall service (waitress + background workers)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hall.cli import load_config_reported
from hall.config.loader import demo_config_path
from hall.config.schema import HallConfig

log = logging.getLogger("kiosk.serve")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="启动大厅服务 / run the hall service")
    p.add_argument("--config", "-c", help="hall config (TOML)")
    p.add_argument("--demo", action="store_true", help="demo hall with emulated devices")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--data-dir", help="where the database and logs live")
    p.add_argument("--log-dir", help="where log files go (default: DATA_DIR/logs)")
    p.set_defaults(handler=serve_cmd)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """glibc only: at most `arenas` malloc arenas instead of 8 per core.

    Every waitress thread (48) otherwise gets an arena of its own on first use, and freed memory
    scattered over many arenas is rarely given back: RSS crept up under load and stayed there.
    Elsewhere (Windows, musl) nothing to do; returns whether the limit was set.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_arena_max = -8
        return bool(libc.mallopt(m_arena_max, arenas))
    except (OSError, AttributeError):
        return False


def serve_cmd(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM, or until `stop` is set (the Windows service's stop request)."""
    from hall.logsetup import hall_zone, setup_logging
    from hall.paths import data_dir

    path = Path(args.config) if args.config else (demo_config_path() if args.demo else None)
    if path is None:
        print("请用 --config 指定配置文件，或用 --demo 启动演示大厅 / give --config FILE or --demo",
              file=sys.stderr)
        return 2
    config = load_config_reported(path)
    if config is None:
        return 2
    if args.demo and not config.server.demo:
        config = config.model_copy(update={"server": config.server.model_copy(update={"demo": True})})
    ddir = data_dir(args.data_dir or config.server.data_dir)
    limit_malloc_arenas()
    log_file = setup_logging(Path(args.log_dir) if args.log_dir else ddir / "logs",
                             zone=hall_zone(config.hall.timezone))
    host = args.host or config.server.host
    port = args.port or config.server.port
    # The served address is part of the config the parts see (e.g. the ticket QR's link base).
    config = config.model_copy(update={"server": config.server.model_copy(update={"host": host, "port": port})})
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    return run(config, ddir, host, port, log_file, config_path=path, stop=stop, overrides=overrides)


def run(config: HallConfig, ddir: Path, host: str, port: int, log_file: Path | None,
        config_path: Path | None = None, stop: threading.Event | None = None,
        overrides: dict[str, Any] | None = None) -> int:
    import waitress
    from hall.netaddr import announce
    from hall.runlock import AlreadyRunning, RunLock
    from hall.sdnotify import Notifier
    from hall.services import build_services
    from hall.store.db import StoreError
    from hall.web.app import create_app

    # Held until the process ends: `kiosk restore` refuses while it is taken.
    lock = RunLock(ddir)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"无法启动 / cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        services = build_services(config, ddir)
    except StoreError as exc:
        lock.release()
        print(f"数据库错误 / database error: {exc}", file=sys.stderr)
        return 2
    services.log_file = log_file
    services.config_path = config_path
    try:   # who changed the config is unknowable; when it took effect and what changed is audited
        from hall.manage.config_audit import record_config_load

        changed = record_config_load(services.db, services.clock, config, config_path)
        if changed:
            log.info("config changed since the last start: %s", ", ".join(changed))
    except Exception:
        log.exception("could not audit the config load")
    services.config_overrides = dict(overrides or {})
    if config.server.demo and services.village is not None and services.village.seed_demo():
        log.info("demo villages and agents added (agent PIN %s)", services.village.DEMO_PIN)
    demo_codes = _demo_pairing_codes(services) if config.server.demo else []
    services.start()
    services.db.release()   # the start-up's connection: the serving loop below never queries
    app = create_app(services)
    server = waitress.create_server(
        app, host=host, port=port, threads=config.server.threads, channel_timeout=60,
        connection_limit=200, ident="hall-kiosk",
    )
    def _graceful(signum: int, frame: object) -> None:
        # Leave the serving loop even with keep-alive clients connected;
        # `finally` below stops devices and closes the database.
        log.info("stopping (signal %s)", signum)
        # Live streams first: each holds a waitress thread in the hub's wait, which waitress's shutdown
        # would otherwise sit out (5 s, twice), so a stop took over 10 s.
        services.hub.close()
        raise SystemExit(0)

    # Signal handlers can only be installed from the main thread; a Windows
    # service runs this on the service control dispatcher's thread and stops
    # it through `stop` instead.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _graceful)
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, _graceful)
    if stop is not None:
        stop_serving_when(stop, server, before=services.hub.close)
    log.info("%s serving on http://%s:%s (data: %s)", config.hall.name, host, port, ddir)
    address = announce(config.server)
    print(f"  本厅对外地址 / public address: {address.url}（{address.reason}）", flush=True)
    if config.server.demo:
        print(demo_banner(config, host, port, ddir, demo_codes), flush=True)
    # The socket is bound: tell systemd (Type=notify) we are up, and keep its watchdog fed.
    notifier = Notifier()
    notifier.ready(f"serving on {host}:{port}", healthy=lambda: _database_answers(services))
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        notifier.stopping()
        server.task_dispatcher.shutdown()   # a no-op after a signal: waitress already did it
        server.close()
        notifier.close()
        services.stop()
        lock.release()
    return 0


def _database_answers(services: object) -> bool:
    db = getattr(services, "db", None)
    return db is not None and db.conn.execute("SELECT 1").fetchone() is not None


def stop_serving_when(stop: threading.Event, server: Any,
                      before: Callable[[], None] | None = None) -> threading.Thread:
    """Leave waitress's serving loop once `stop` is set, from any thread.

    waitress's loop runs while its socket map is not empty, and it only looks
    at the map on its own thread: so the close is handed to that thread
    through waitress's trigger, which also wakes the loop at once.
    """
    from waitress import wasyncore

    def close_everything() -> None:
        wasyncore.close_all(server._map, ignore_all=True)

    def wait_then_close() -> None:
        stop.wait()
        log.info("stopping (stop requested)")
        if before is not None:
            before()
        server.trigger.pull_trigger(close_everything)

    watcher = threading.Thread(target=wait_then_close, name="serve-stop", daemon=True)
    watcher.start()
    return watcher


def _demo_pairing_codes(services: Any) -> list[tuple[str, str]]:
    """One-time pairing codes for the demo's window tablets and kiosks (banner and /tech)."""
    from hall import pairing

    cfg = services.config
    made = pairing.demo_codes(services.db, services.clock, [w.number for w in cfg.windows],
                              [k.id for k in cfg.kiosks], minutes=cfg.security.pairing_code_minutes)
    services.demo_pairing_codes.update({m["id"]: m["code"] for m in made})
    log.info("demo pairing codes made for %d devices (valid %d min)", len(made), cfg.security.pairing_code_minutes)
    return [(m["name"], m["code"]) for m in made]


def demo_banner(config: HallConfig, host: str, port: int, ddir: Path,
                codes: list[tuple[str, str]] | None = None) -> str:
    """Where a newcomer opens each screen, who to sign in as, and the devices' pairing codes."""
    from hall.netaddr import public_url

    base = public_url(config.server)          # what another PC would open, not the bind address
    clerks = [st for st in config.staff if st.role == "clerk"]
    lines = [
        "",
        f"  演示大厅已启动 / demo hall running: {config.hall.name}",
        f"  触摸屏 kiosk        {base}/kiosk",
        f"  窗口叫号 clerk       {base}/clerk",
        f"  评价器 evaluator     {base}/evaluator/1",
        f"  大屏 board           {base}/board",
        f"  管理 manager         {base}/manager",
        f"  运维 technician      {base}/tech",
        f"  村代办员 agent       {base}/agent   服务站 station {base}/station   村站管理 {base}/villages",
        f"  接口 API             {base}/api/openapi.json   健康 {base}/healthz",
        "",
        "  演示账号 / demo sign-ins (工号 / PIN):",
    ]
    for st in clerks:
        wins = "、".join(str(w) for w in st.windows) if st.windows else "任意"
        lines.append(f"    窗口人员 clerk   {st.id} / 123456   {st.name}（{st.post}岗，窗口 {wins}）")
    for st in config.staff:
        if st.role == "manager":
            lines.append(f"    管理员 manager   {st.id} / hall-8888 {st.name}")
        elif st.role == "technician":
            lines.append(f"    技术员 tech      {st.id} / tech-6666 {st.name}")
    lines.append("    村代办员 agent   qs01 / 246810   李春花（青石村）；hx01 / 246810   赵大成（红星社区）")
    if codes:
        lines.append(f"  设备配对码 / pairing codes（{config.security.pairing_code_minutes} 分钟内有效，一次性；"
                     "在评价器/自助机页面的「设备未配对」数字键盘输入；过期后在运维页面 /tech 重新生成）:")
        row = [f"{name} {code}" for name, code in codes]
        lines += ["    " + "  ".join(row[i:i + 4]) for i in range(0, len(row), 4)]
    lines += [f"  数据目录 / data: {ddir}", "  按 Ctrl+C 停止 / Ctrl+C to stop", ""]
    return "\n".join(lines)
