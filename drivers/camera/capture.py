"""Frame capture through OpenCV `VideoCapture`: a camera index, a file, or an MJPEG URL.

OpenCV is heavy (≈ 40–60 MB resident once loaded), and a hall's document
camera is idle most of the day, so nothing here imports `cv2` at module import:
`cv2_module()` loads it on the first capture. `Capture` objects are opened on
demand; a local camera stays open until its owner closes it (`CameraDevice`
does after an idle timeout), a network stream is reopened for every read.

Source URLs (the `url` of a `[[devices]]` entry of kind "camera"):
  0, 1, "video://0"             camera index (UVC on Linux via V4L2, on Windows via Media Foundation/DirectShow)
  /dev/video0                   a V4L2 device path
  http://host:port/stream.mjpg  an MJPEG stream (network document cameras, the emulator)
  rtsp://…                      a network camera stream
  file:///path/page.jpg         a still image (served as the same frame every time)
  /path/video.mp4, C:\\scans\\a.avi  a video file, read frame by frame (tests, replays)

Timeouts are short: opening a network source gives up after `open_timeout`
seconds, a read after `read_timeout` (FFmpeg backend). Local V4L2 reads use the
backend's own select timeout; the device runs captures on its own thread, so a
stuck camera never blocks a request.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import numpy as np

STILL_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}

# dup-ok: lazy import under a lock, as kiosk/ime/candidates.py lexicon() does; another object
_cv2: Any = None
_cv2_lock = threading.Lock()


def cv2_module() -> Any:
    """Import OpenCV on first use, quietening FFmpeg's and OpenCV's console chatter."""
    global _cv2
    if _cv2 is None:
        with _cv2_lock:
            if _cv2 is None:
                os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
                os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")     # AV_LOG_QUIET
                os.environ.setdefault("OPENCV_VIDEOIO_DEBUG", "0")
                import cv2

                _cv2 = cv2
    return _cv2


class CaptureError(OSError):
    """The camera cannot be opened or gave no frame; the message is Chinese, for screens and logs."""


@dataclass(frozen=True)
class Source:
    kind: str            # "index" | "device" | "stream" | "still" | "video"
    target: str | int    # what VideoCapture (or imdecode) gets
    url: str

    @property
    def is_network(self) -> bool:
        return self.kind == "stream"


def parse_source(url: str) -> Source:
    """Classify a camera URL; raises ValueError for a form we do not know."""
    text = url.strip()
    if not text:
        raise ValueError("摄像头地址为空 / empty camera url")
    if text.isdigit():
        return Source("index", int(text), url)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "video":
        index = (parts.netloc or parts.path).strip("/")
        if not index.isdigit():
            raise ValueError(f"摄像头编号应为数字 / bad camera index in {url!r}")
        return Source("index", int(index), url)
    if scheme in ("http", "https", "rtsp", "rtmp", "tcp", "udp"):
        return Source("stream", text, url)
    if scheme == "file":
        path = unquote(parts.path)
        if sys.platform == "win32" and path.startswith("/") and len(path) > 2 and path[2] == ":":
            path = path[1:]            # file:///C:/scans/a.jpg
        if parts.netloc and parts.netloc != "localhost":
            path = f"//{parts.netloc}{path}"
        return _file_source(path, url)
    if scheme == "emulator":
        raise ValueError("emulator:// 由设备工厂解析 / emulator:// is resolved by the device factory")
    if scheme and len(scheme) > 1:
        raise ValueError(f"不支持的摄像头地址 / unsupported camera url scheme: {url!r}")
    if text.startswith("/dev/"):
        return Source("device", text, url)
    return _file_source(text, url)     # a plain path (also C:\… on Windows: one-letter "scheme")


def _file_source(path: str, url: str) -> Source:
    kind = "still" if Path(path).suffix.lower() in STILL_SUFFIXES else "video"
    return Source(kind, path, url)


class Capture:
    """One open camera. Not thread-safe: the owning device uses it from one thread only."""

    def __init__(self, url: str, *, width: int = 0, height: int = 0, open_timeout: float = 3.0,
                 read_timeout: float = 3.0, warmup: int = 2, drain_max: float = 0.5,
                 persistent: bool | None = None) -> None:
        self.source = parse_source(url)
        self.width, self.height = width, height
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        self.warmup = warmup
        self.drain_max = drain_max
        # Local cameras (and video files) stay open between reads (opening a UVC camera takes ~1 s and
        # exposure must settle); network streams are reopened per read, so no stale frames pile
        # up in the socket while nobody reads, and the camera's stream is not held while idle.
        self.persistent = self.source.kind in ("index", "device", "video") if persistent is None else persistent
        self._cap: Any = None
        self._still: np.ndarray | None = None
        self.opened_at: float | None = None
        self.backend = ""

    @property
    def is_open(self) -> bool:
        return self._cap is not None or self._still is not None

    def open(self) -> None:
        if self.is_open:
            return
        cv2 = cv2_module()
        src = self.source
        if src.kind == "still":
            self._still = _read_still(cv2, Path(str(src.target)))
            self.backend = "imdecode"
        else:
            if src.kind in ("stream", "video"):
                if src.kind == "video" and not Path(str(src.target)).exists():
                    raise CaptureError(f"视频文件不存在：{src.target}")
                # The FFmpeg backend honours both timeouts (and refuses parameters it does not know).
                params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout * 1000),
                          cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000)]
                cap = cv2.VideoCapture(str(src.target), cv2.CAP_FFMPEG, params)
            elif src.kind == "index":
                cap = cv2.VideoCapture(int(src.target), cv2.CAP_ANY)   # V4L2 / Media Foundation / DirectShow
            else:   # a V4L2 device path
                cap = cv2.VideoCapture(str(src.target), cv2.CAP_V4L2)
            if not cap.isOpened():
                cap.release()
                raise CaptureError(_open_failure(src))
            if src.kind in ("index", "device"):
                # Local cameras: a read timeout where the backend supports it (V4L2 in recent OpenCV);
                # document cameras often default to 640×480, so ask for the configured size in MJPEG.
                cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000))
                if self.width and self.height:
                    cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
                    cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
                    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            self._cap = cap
            self.backend = cap.getBackendName()
        self.opened_at = time.monotonic()

    def read(self) -> np.ndarray:
        """The newest frame (BGR).

        Right after opening a local camera, `warmup` frames are skipped (UVC
        cameras start dark while auto exposure settles). A local camera kept open between reads
        has frames queued in the driver (V4L2 keeps 4 buffers), possibly seconds
        old: those are drained (grabbed without keeping) until a grab has to
        wait for the camera, i.e. the frame is live, or `drain_max` seconds
        have passed. A non-persistent capture closes after each read.
        """
        if not self.is_open:
            self.open()
        if self._still is not None:
            return self._still.copy()
        cap = self._cap
        fresh, self.opened_at = self.opened_at is not None, None
        if self.source.kind == "video":          # a file replays in order
            ok = cap.grab()
        elif fresh and self.source.kind in ("index", "device"):
            ok = all(cap.grab() for _ in range(self.warmup + 1))
        elif fresh:                               # a network stream is already exposed and running
            ok = cap.grab()
        else:
            ok = self._grab_live(cap)
        img = cap.retrieve()[1] if ok else None
        if img is None:
            self.close()
            if self.source.kind == "video":
                raise CaptureError(f"视频已读完或无法解码：{self.source.target}")
            raise CaptureError(
                f"摄像头没有画面（连接中断，或 {self.read_timeout:g} 秒内未收到图像）：{self.source.url}")
        if not self.persistent:
            self.close()
        return img

    def _grab_live(self, cap: Any) -> bool:
        fps = cap.get(cv2_module().CAP_PROP_FPS) or 0.0
        interval = 1.0 / fps if 1.0 <= fps <= 120.0 else 1.0 / 30
        threshold = max(0.008, interval / 2)
        deadline = time.monotonic() + self.drain_max
        while True:
            t0 = time.monotonic()
            if not cap.grab():
                return False
            now = time.monotonic()
            if now - t0 >= threshold or now >= deadline:
                return True

    def close(self) -> None:
        cap, self._cap = self._cap, None
        self._still = None
        if cap is not None:
            cap.release()

    def __enter__(self) -> Capture:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_still(cv2: Any, path: Path) -> np.ndarray:
    import numpy as np

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaptureError(f"无法读取图片：{path}（{exc.strerror or exc}）") from exc
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise CaptureError(f"不是可识别的图片：{path}")
    return image


def _open_failure(src: Source) -> str:
    if src.kind == "index":
        return f"无法打开摄像头 {src.target} 号（未连接、被其他程序占用或无权限）"
    if src.kind == "device":
        return f"无法打开摄像头设备 {src.target}（未连接或无权限）"
    if src.kind == "stream":
        return f"无法连接网络摄像头 {src.url}（地址不通，或超时没有画面）"
    return f"无法打开视频文件 {src.target}"


def grab_frame(url: str, **options: Any) -> np.ndarray:
    """Open, read one frame, close: for one-off use (`kiosk diag`, scripts)."""
    with Capture(url, **options) as cap:
        return cap.read()
