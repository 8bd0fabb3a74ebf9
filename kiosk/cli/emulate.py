"""`kiosk emulate KIND`: run a device emulator on its own, for commissioning and demos.

Each kind adds one sub-command in `KINDS` (a function that registers its
arguments and handler); they share the channel options (`--port`, `--pty`),
the run loop (print what the device shows when it changes) and the fault
commands typed on stdin (each emulator's `fault(text)`; `help` lists them).
The service's own emulators (`emulator://` URLs) are started by the device
factory instead; this command is for pointing a real service, or a second
PC, at an emulated device.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class Emulator(Protocol):
    @property
    def url(self) -> str: ...

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int: ...

    def start_pty(self) -> str: ...

    def stop(self) -> None: ...

    def fault(self, command: str) -> str: ...


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("emulate", help="运行设备模拟器 / run a device emulator")
    ksub = p.add_subparsers(dest="kind", metavar="KIND")
    ksub.required = True
    for add in KINDS:
        add(ksub)


def channel_args(p: argparse.ArgumentParser, default_port: int) -> None:
    p.add_argument("--host", default="127.0.0.1", help="TCP address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=default_port, help=f"TCP port (default {default_port}; 0 = any)")
    p.add_argument("--pty", action="store_true", help="serve a pty instead of TCP (Linux/macOS)")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = until Ctrl-C)")


def serve_emulator(emu: Emulator, args: argparse.Namespace, *, title: str, show: Callable[[], str],
                   config_hint: Callable[[str], str]) -> int:
    """Start `emu` on the chosen channel, echo what it shows, take fault commands from stdin."""
    try:
        if args.pty:
            where = emu.start_pty()
        else:
            emu.start_tcp(args.host, args.port)
            where = emu.url
    except (OSError, RuntimeError) as exc:
        print(f"无法启动模拟器 / cannot start the emulator: {exc}", file=sys.stderr)
        return 2
    print(f"{title}: {where}", flush=True)
    print(config_hint(where), flush=True)
    print("输入故障命令（help 查看），Ctrl-C 退出 / type fault commands (help), Ctrl-C to quit", flush=True)
    stop = threading.Event()

    def read_stdin() -> None:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd in ("quit", "exit"):
                stop.set()
                return
            if not cmd:
                continue
            try:
                print(emu.fault("" if cmd == "help" else cmd), flush=True)
            except ValueError as exc:
                # A mistyped argument (e.g. a bad ID number to `place`) must not end the technician's
                # command input for the rest of the session.
                print(f"命令有误 / bad command: {exc}", flush=True)

    threading.Thread(target=read_stdin, name="emulate-stdin", daemon=True).start()
    deadline = time.monotonic() + args.duration if args.duration > 0 else None
    last = None
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            now = show()
            if now != last:
                print(now, flush=True)
                last = now
            stop.wait(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


# ------------------------------------------------------------------------ led
def _add_led(ksub: Any) -> None:
    p = ksub.add_parser("led", help="Onbon BX-5K/6K LED 屏（大屏或窗口屏）/ LED screen")
    channel_args(p, 5005)
    p.add_argument("--width", type=int, default=256, help="screen width in pixels (default 256)")
    p.add_argument("--height", type=int, default=48, help="screen height in pixels (default 48)")
    p.add_argument("--address", type=lambda s: int(s, 0), default=1, help="screen address (default 1)")
    p.add_argument("--areas", type=int, default=5, help="dynamic areas (6K: 5, 5K: 8)")
    p.set_defaults(handler=_run_led)


def _run_led(args: argparse.Namespace) -> int:
    from hall.drivers.emulators.led import LedEmulator

    emu = LedEmulator(args.width, args.height, address=args.address, max_areas=args.areas)

    def show() -> str:
        lines = emu.lines()
        width = max([len(t) for t in lines] + [8])
        rule = "─" * (width * 2)
        body = "\n".join(f"  {t}" for t in lines) or "  （黑屏 / blank）"
        return f"┌{rule}\n{body}\n└{rule}"

    def hint(where: str) -> str:
        opts = f'options = {{ role = "board", width = {args.width}, height = {args.height} }}'
        return f'配置 / config: [[devices]] kind = "led", url = "{where}", {opts}'

    return serve_emulator(emu, args, title="LED 模拟器 / LED emulator", show=show, config_hint=hint)


# ------------------------------------------------------------------------ printer
def _add_printer(ksub: Any) -> None:
    p = ksub.add_parser("printer", help="ESC/POS 取号小票打印机 / ESC/POS ticket printer")
    channel_args(p, 9100)
    p.add_argument("--columns", type=int, default=42,
                   help="characters per line, font A (58 mm: 32, 80 mm: 42/48)")
    p.add_argument("--baud", type=int, default=0,
                   help="read at this serial speed (e.g. 9600; 0 = full speed)")
    p.add_argument("--no-chinese-default", action="store_true",
                   help="start outside Chinese mode, so only FS & enables GB18030 (strict check)")
    p.set_defaults(handler=_run_printer)


def _run_printer(args: argparse.Namespace) -> int:
    from hall.drivers.emulators.printer import PrinterEmulator

    emu = PrinterEmulator(args.columns, chinese_default=not args.no_chinese_default)
    if args.baud:
        emu.baud = args.baud

    def show() -> str:
        jobs = emu.last_jobs(1)
        if not jobs:
            return "（等待打印 / waiting for tickets）"
        s = emu.status()
        head = f"—— 第 {s['jobs']} 张，{jobs[0]['bytes']} 字节，纸张 {s['paper']} ——"
        return f"{head}\n{jobs[0]['text']}"

    def hint(where: str) -> str:
        if where.startswith("tcp://"):
            return f'配置 / config: [[devices]] kind = "printer", url = "{where}"'
        opts = "options = { baudrate = 9600 }"
        return f'配置 / config: [[devices]] kind = "printer", url = "{where}", {opts}'

    return serve_emulator(emu, args, title="小票打印机模拟器 / printer emulator", show=show, config_hint=hint)


# ------------------------------------------------------------------ evaluator
def _add_evaluator(ksub: Any) -> None:
    p = ksub.add_parser("evaluator", help="窗口评价器（串口协议 v1，五键）/ serial evaluator keypad")
    channel_args(p, 5010)
    p.add_argument("--address", type=lambda s: int(s, 0), default=1, help="keypad address 1..254 (default 1)")
    p.set_defaults(handler=_run_evaluator)


def _run_evaluator(args: argparse.Namespace) -> int:
    from hall.drivers.emulators.evaluator import EvaluatorEmulator

    emu = EvaluatorEmulator(name="evaluator", channel="tcp", address=args.address)

    def hint(where: str) -> str:
        url = f"socket://{args.host}:{where.rsplit(':', 1)[-1]}" if "://" in where else where
        return (f'配置 / config: [[devices]] kind = "evaluator", url = "{url}", window = 1, '
                f'options = {{ type = "serial", address = {args.address} }}')

    return serve_emulator(emu, args, title="评价器模拟器 / evaluator emulator", show=emu.display,
                          config_hint=hint)


# ------------------------------------------------------------------ camera
def _add_camera(ksub: Any) -> None:
    p = ksub.add_parser("camera", help="高拍仪（MJPEG over HTTP，合成的文件页面和二维码）/ document camera")
    channel_args(p, 8081)
    p.add_argument("--width", type=int, default=1920, help="frame width (default 1920)")
    p.add_argument("--height", type=int, default=1080, help="frame height (default 1080)")
    p.add_argument("--fps", type=float, default=5.0, help="frames per second (default 5)")
    p.add_argument("--payload", action="append", default=[], metavar="TEXT[@CHARSET]",
                   help="QR payload on the page, repeatable, e.g. '办件回执 123@gb18030' (default: two samples)")
    p.set_defaults(handler=_run_camera)


def _run_camera(args: argparse.Namespace) -> int:
    from hall.drivers.emulators.camera import DEFAULT_PAYLOADS, CameraEmulator

    payloads = []
    for item in args.payload:
        text, sep, charset = item.rpartition("@")
        text, charset = (text, charset) if sep and charset else (item, "utf-8")
        try:
            text.encode(charset)
        except (LookupError, UnicodeEncodeError) as exc:
            print(f"无法按 {charset} 编码 / cannot encode payload: {exc}", file=sys.stderr)
            return 2
        payloads.append((text, charset))
    emu = CameraEmulator(payloads or DEFAULT_PAYLOADS, size=(args.width, args.height), fps=args.fps)

    def show() -> str:
        st = emu.status()
        return f"故障 / fault: {st['fault'] or '无'} · 连接 / connections: {st['connections']}"

    def hint(where: str) -> str:
        return f'配置 / config: [[devices]] kind = "camera", url = "{where}"'

    return serve_emulator(emu, args, title="高拍仪模拟器 / camera emulator", show=show, config_hint=hint)


# ------------------------------------------------------------------ idcard
def _add_idcard(ksub: Any) -> None:
    p = ksub.add_parser("idcard", help="二代证阅读器（GA 467 安全模块串口协议）/ ID-card reader")
    channel_args(p, 5020)
    p.set_defaults(handler=_run_idcard)


def _run_idcard(args: argparse.Namespace) -> int:
    from hall.drivers.emulators.idcard import IdCardEmulator

    emu = IdCardEmulator(name="idcard")

    def show() -> str:
        v = emu.view()
        card = v["card"]
        where = (f"卡片 / card: {card['name']} {card['id_masked']}{'（已读）' if v['card_read'] else ''}"
                 if card else "卡片 / card: 无")
        faults = [k for k in ("nosam", "silent") if v[k]]
        return f"{where} · 已读 / reads: {v['reads']} · 故障 / faults: {'、'.join(faults) or '无'}"

    def hint(where: str) -> str:
        url = f"socket://{args.host}:{where.rsplit(':', 1)[-1]}" if where.startswith("tcp://") else where
        return f'配置 / config: [[devices]] kind = "idcard", url = "{url}"'

    return serve_emulator(emu, args, title="身份证阅读器模拟器 / ID-card reader emulator", show=show,
                          config_hint=hint)


# One entry per kind: a function that adds `kiosk emulate <kind>` to the sub-parsers.
KINDS: list[Callable[[Any], None]] = [_add_printer, _add_led, _add_evaluator, _add_camera, _add_idcard]
