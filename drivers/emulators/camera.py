"""Document camera (高拍仪) emulator: synthetic frames served as MJPEG over HTTP on 127.0.0.1.

A real channel: OpenCV opens `http://127.0.0.1:PORT/stream.mjpg` with its FFmpeg
backend exactly as it opens a network document camera or an IP camera, so the
driver's capture code runs unchanged against it.

Each frame shows an A4 "document page" lying rotated (and slightly in
perspective) on a wooden desk, carrying one QR code per configured payload.
Payloads are encoded in byte mode in the charset you choose ("utf-8" or
"gb18030": Chinese receipts from older county systems are GB18030 with no ECI),
which is exactly where zbar and OpenCV guess the character set wrong.

Faults, set with `set_fault()` (or `GET /control?fault=…` while it runs):
  blur    – out-of-focus page (the sharpness check must reject it)
  noise   – heavy sensor noise
  black   – all-black frames (lens cap, camera light off)
  silent  – the connection stays open but no frame arrives (read timeout)
  unplug  – the port is closed: connections refused until `replug()`

Everything is rendered at run time with numpy, OpenCV and `qrcode`; no image is
stored in the repository. OpenCV is imported on the first rendered frame, not
when the emulator starts, so a demo service with an idle camera stays light.

Routes: `/stream.mjpg` (multipart/x-mixed-replace), `/frame.jpg` (one frame),
`/control?fault=blur|noise|black|silent|unplug|none` and `/status` (JSON).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from hall.drivers.emulators.faults import FaultCommands, Handler

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

FAULTS = ("blur", "noise", "black", "silent", "unplug")
FAULT_NAMES = {
    "blur": "画面失焦模糊",
    "noise": "画面噪点严重",
    "black": "画面全黑（镜头盖、补光灯坏）",
    "silent": "连接保持但不再出画面",
    "unplug": "已断开（拔线）：端口不再接受连接，replug 恢复",
}
FAULT_HELP = ("故障命令 / fault commands: blur · noise · black · silent · unplug · replug · none · "
              "payload 文本 [@gb18030]")
BOUNDARY = "hallframe"

# An appointment code in UTF-8 and a case receipt from an older county system in GB18030.
DEFAULT_PAYLOADS: tuple[tuple[str, str], ...] = (
    ("预约签到码：YY20261125-0042 示范镇便民服务中心", "utf-8"),
    ("办件回执：430224100-2026-000123 最低生活保障申请", "gb18030"),
)


# ---------------------------------------------------------------- rendering
@dataclass(frozen=True)
class Scene:
    """What a synthetic frame shows; `corners` are the page's true corners (tl, tr, br, bl)."""

    image: np.ndarray
    corners: np.ndarray
    page_size: tuple[int, int]          # (width, height) of the flat page before warping
    payloads: tuple[tuple[str, str], ...]


def qr_image(payload: str | bytes, charset: str = "utf-8", box: int = 4, border: int = 4) -> np.ndarray:
    """A grayscale QR code holding `payload` in byte mode, encoded in `charset`, with no ECI."""
    import numpy as np
    import qrcode
    from qrcode.util import MODE_8BIT_BYTE, QRData

    raw = payload if isinstance(payload, bytes) else payload.encode(charset)
    qr = qrcode.QRCode(border=border, box_size=box, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(QRData(raw, mode=MODE_8BIT_BYTE))
    qr.make(fit=True)
    return np.array(qr.make_image().get_image().convert("L"), dtype=np.uint8)


def render_page(payloads: Sequence[tuple[str, str]], width: int, seed: int = 0) -> np.ndarray:
    """A flat A4 page (BGR), `width` pixels wide: a title bar, lines of "text", QR codes lower right."""
    import cv2
    import numpy as np

    height = round(width * math.sqrt(2))
    rng = np.random.default_rng(seed)
    page = np.full((height, width, 3), 246, np.uint8)
    m = width // 12
    cv2.rectangle(page, (m, m), (width - m, m + width // 20), (70, 70, 70), -1)        # title
    y = m + width // 10
    line_h = max(4, width // 70)
    qr_top = height - m - int(width * 0.36)
    while y < qr_top - line_h:
        length = int((width - 2 * m) * rng.uniform(0.55, 1.0))
        cv2.rectangle(page, (m, y), (m + length, y + line_h), (110, 110, 110), -1)
        y += line_h * 3
    qr_w = int(width * 0.30)
    x = width - m - qr_w
    for text, charset in list(payloads)[:2]:
        code = qr_image(text, charset)
        code = cv2.resize(code, (qr_w, qr_w), interpolation=cv2.INTER_NEAREST)
        page[qr_top:qr_top + qr_w, x:x + qr_w] = code[:, :, None]
        x -= qr_w + m // 2
    return page


def render_scene(payloads: Sequence[tuple[str, str]] = DEFAULT_PAYLOADS, *, size: tuple[int, int] = (1920, 1080),
                 angle: float = 8.0, keystone: float = 0.03, blur: float = 0.0, noise: float = 0.0,
                 black: bool = False, seed: int = 0, page_scale: float = 0.86) -> Scene:
    """A frame as a document camera sees it: the page rotated by `angle` degrees on a desk.

    `blur` is a Gaussian sigma in pixels, `noise` a standard deviation in grey levels,
    `page_scale` the page's height as a share of the frame's (lower it for steep angles,
    so the whole page stays in the frame).
    """
    import cv2
    import numpy as np

    w, h = size
    rng = np.random.default_rng(seed)
    # Desk: warm wood tones with grain and a soft light fall-off.
    xs = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    grain = 0.5 + 0.5 * np.sin(ys * 90 + 6 * np.sin(xs * 7)) * np.cos(xs * 3)
    light = 1.0 - 0.35 * ((xs - 0.45) ** 2 + (ys - 0.4) ** 2)
    desk = np.empty((h, w, 3), np.float32)
    for c, base in enumerate((52, 92, 140)):          # BGR brown
        desk[:, :, c] = (base + 22 * grain) * light
    frame: np.ndarray = np.clip(desk, 0, 255).astype(np.uint8)

    page_h = int(h * page_scale)
    page_w = int(page_h / math.sqrt(2))
    page = render_page(payloads, page_w, seed=seed)
    src = np.array([[0, 0], [page_w - 1, 0], [page_w - 1, page_h - 1], [0, page_h - 1]], dtype=np.float32)
    cx, cy = w * 0.5, h * 0.5
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=np.float32)
    half = np.array([[-page_w / 2, -page_h / 2], [page_w / 2, -page_h / 2],
                     [page_w / 2, page_h / 2], [-page_w / 2, page_h / 2]], dtype=np.float32)
    # Keystone: the edge nearer the camera (bottom) looks a little wider.
    half[2:, 0] *= 1 + keystone
    half[:2, 0] *= 1 - keystone
    dst = (half @ rot.T + np.array([cx, cy], dtype=np.float32)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(page, matrix, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((page_h, page_w), 255, np.uint8), matrix, (w, h))
    frame[mask > 127] = warped[mask > 127]
    # Shade the page like the desk so it is not unnaturally flat.
    frame = np.clip(frame.astype(np.float32) * (0.88 + 0.12 * light[:, :, None]), 0, 255).astype(np.uint8)

    if blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise > 0:
        frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
    if black:
        frame = np.clip(rng.normal(3, 1.5, frame.shape), 0, 255).astype(np.uint8)
    return Scene(image=frame, corners=dst, page_size=(page_w, page_h), payloads=tuple(payloads))


# ---------------------------------------------------------------- HTTP server
@dataclass
class EmulatorRecord:
    """What the emulator did, for tests and the technician page."""

    connections: int = 0
    frames_sent: int = 0
    requests: list[str] = field(default_factory=list)


class CameraEmulator:
    """MJPEG-over-HTTP document camera on 127.0.0.1. `url` is what the driver opens."""

    def __init__(self, payloads: Sequence[tuple[str, str]] = DEFAULT_PAYLOADS, *, host: str = "127.0.0.1",
                 port: int = 0, size: tuple[int, int] = (1920, 1080), fps: float = 5.0, angle: float = 8.0,
                 quality: int = 88) -> None:
        self.payloads = tuple(payloads)
        self.host, self.port = host, port
        self.size, self.fps, self.angle, self.quality = size, fps, angle, quality
        self.active_fault: str | None = None
        self.record = EmulatorRecord()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._jpeg_cache: dict[str | None, bytes] = {}
        self._open_sockets: set[socket.socket] = set()
        self._stopping = threading.Event()

    # ---------------------------------------------------------------- control
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/stream.mjpg"

    def start(self) -> CameraEmulator:
        self._stopping.clear()
        self._serve()
        log.info("camera emulator on %s", self.url)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._close_server()

    def set_fault(self, fault: str | None) -> None:
        """One of FAULTS, or None/"none" to clear; "unplug" closes the port until `replug()`."""
        fault = None if fault in (None, "", "none") else fault
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"未知故障 / unknown fault: {fault!r} (可选 {', '.join(FAULTS)})")
        if fault == "unplug":
            self.active_fault = fault
            self._close_server()
            return
        was_unplugged = self.active_fault == "unplug"
        self.active_fault = fault
        if was_unplugged and not self._stopping.is_set():
            self._serve()

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """For `kiosk emulate`: listen on host:port (0 = any free port); returns the port."""
        self.host, self.port = host, port
        self.start()
        return self.port

    def start_pty(self) -> str:
        raise RuntimeError("高拍仪模拟器只提供 HTTP（MJPEG）/ the camera emulator serves HTTP only")

    def fault(self, command: str) -> str:
        """A text command, as typed in `kiosk emulate camera`; returns what happened, in Chinese."""
        commands = FaultCommands({
            **dict.fromkeys(("none", "clear", "ok", "replug"), self._fault_none),
            **{name: self._fault_picture(name) for name in FAULTS}, "payload": self._fault_payload,
        }, FAULT_HELP, whole_rest=True, otherwise=lambda head, _args: f"未知命令：{head}\n{FAULT_HELP}")
        return commands(command)

    def _fault_none(self, _args: list[str]) -> str:
        self.set_fault(None)
        return "恢复正常画面"

    def _fault_picture(self, name: str) -> Handler:
        def run(_args: list[str]) -> str:
            self.set_fault(name)
            return FAULT_NAMES[name]
        return run

    def _fault_payload(self, args: list[str]) -> str:
        text, _, charset = (args[0] if args else "").partition(" @")
        charset = charset.strip() or "utf-8"
        try:
            text.encode(charset)
        except (LookupError, UnicodeEncodeError) as exc:
            return f"无法按 {charset} 编码：{exc}"
        if not text:
            return "用法：payload 文本 [@gb18030]"
        self.set_payloads([(text, charset)])
        return f"页面上的二维码改为（{charset}）：{text}"

    def unplug(self) -> None:
        self.set_fault("unplug")

    def replug(self) -> None:
        self.set_fault(None)

    def set_payloads(self, payloads: Sequence[tuple[str, str]]) -> None:
        with self._lock:
            self.payloads = tuple(payloads)
            self._jpeg_cache.clear()

    def status(self) -> dict[str, Any]:
        return {"url": self.url, "fault": self.active_fault, "connections": self.record.connections,
                "frames_sent": self.record.frames_sent, "payloads": [p for p, _ in self.payloads],
                "size": list(self.size), "fps": self.fps}

    # ---------------------------------------------------------------- frames
    def frame_jpeg(self) -> bytes:
        """The current frame as JPEG bytes (rendered once per fault state, then cached)."""
        key = self.active_fault if self.active_fault in ("blur", "noise", "black") else None
        with self._lock:
            cached = self._jpeg_cache.get(key)
            if cached is not None:
                return cached
            import cv2

            scene = render_scene(self.payloads, size=self.size, angle=self.angle,
                                 blur=6.0 if key == "blur" else 0.0, noise=40.0 if key == "noise" else 1.5,
                                 black=key == "black")
            ok, buf = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR frame
                raise RuntimeError("JPEG encoding failed")
            self._jpeg_cache[key] = data = buf.tobytes()
            return data

    # ---------------------------------------------------------------- server
    def _serve(self) -> None:
        """Listen on the port (the same one again after a replug). A blocking accept loop, woken
        by closing the socket, so an idle emulator costs no CPU and stops at once."""
        if self._server is not None:
            return
        sock = socket.create_server((self.host, self.port), reuse_port=False)
        self.port = sock.getsockname()[1]
        self._server = sock
        self._thread = threading.Thread(target=self._accept_loop, args=(sock,), name="camera-emulator",
                                        daemon=True)
        self._thread.start()

    def _accept_loop(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, addr = sock.accept()
            except OSError:
                return
            if self._server is not sock:
                conn.close()
                return
            threading.Thread(target=self._handle, args=(conn, addr), name="camera-emulator-conn",
                             daemon=True).start()

    def _handle(self, conn: socket.socket, addr: Any) -> None:
        self._open_sockets.add(conn)
        try:
            _Handler(conn, addr, self)  # type: ignore[arg-type]
        except OSError:
            pass
        finally:
            self._open_sockets.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _close_server(self) -> None:
        sock, self._server = self._server, None
        if sock is None:
            return
        # shutdown() wakes a blocked accept() on Linux; a throw-away connection wakes it elsewhere.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
            pass
        sock.close()
        for conn in list(self._open_sockets):     # "unplug": live streams die too
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(2)
        self._thread = None


class _Handler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0); `server` is the emulator itself."""

    server: CameraEmulator  # type: ignore[assignment]
    protocol_version = "HTTP/1.0"
    server_version = "HallCameraEmulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("camera emulator: " + format, *args)

    @property
    def emu(self) -> CameraEmulator:
        return self.server

    def do_GET(self) -> None:
        emu = self.emu
        parts = urlsplit(self.path)
        emu.record.requests.append(parts.path)
        emu.record.connections += 1
        try:
            if parts.path == "/stream.mjpg":
                self._stream()
            elif parts.path == "/frame.jpg":
                self._single()
            elif parts.path == "/control":
                fault = parse_qs(parts.query).get("fault", ["none"])[0]
                if fault not in (*FAULTS, "none", ""):
                    self._json(400, {"error": f"未知故障 / unknown fault: {fault!r}", "faults": list(FAULTS)})
                    return
                if fault != "unplug":
                    emu.set_fault(fault)            # in effect before the reply
                self._json(200, {"fault": fault})
                self.wfile.flush()
                if fault == "unplug":
                    # After the reply, and not from this thread: unplugging closes this very connection.
                    threading.Thread(target=emu.set_fault, args=(fault,), daemon=True).start()
            elif parts.path == "/status":
                self._json(200, emu.status())
            else:
                self._json(404, {"error": "not found"})
        except OSError:           # the client went away, or the emulator was unplugged
            pass

    def _json(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _single(self) -> None:
        data = self.emu.frame_jpeg()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.emu.record.frames_sent += 1

    def _stream(self) -> None:
        emu = self.emu
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache, no-store")
        self.end_headers()
        interval = 1.0 / max(0.5, emu.fps)
        while not emu._stopping.is_set() and emu._server is not None:
            if emu.active_fault == "silent":
                time.sleep(0.05)
                continue
            data = emu.frame_jpeg()
            self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                             .encode("ascii") + data + b"\r\n")
            self.wfile.flush()
            emu.record.frames_sent += 1
            time.sleep(interval)
