"""The document camera (高拍仪) device: on-demand capture on its own short-lived thread.

A camera is not a `DeviceWorker` with a permanent link. A hall's document
camera is used a few times an hour; keeping it open would hold OpenCV
(≈ 40–60 MB), a capture thread, the camera's light and a USB stream all day.
So `CameraDevice`:

* starts without importing OpenCV and without a thread (state "idle");
* on the first `grab()` starts one worker thread, which opens the camera,
  returns frames through `Future`s (request threads never touch the camera)
  and runs any post-processing (crop, decode) there as well;
* keeps a local (USB) camera open `idle_timeout` seconds for the next page
  of a multi-page scan (a network stream is reopened per grab), then closes
  it and the thread ends;
* is "offline" (with the last error, logged once) after a failed grab, and
  back to "idle" after the next good one. Until first used its state is
  "idle" with detail "未检测": whether an idle camera is plugged in is only
  known by opening it, which `test()` does.

States: idle (空闲) · capturing (拍摄中) · offline (离线) · stopped (已停止).
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hall.drivers.camera.capture import Capture, CaptureError, parse_source
from hall.drivers.contracts import Redactor
from hall.drivers.options import float_option

# dup-ok: the camera's states and names, like drivers/base.py's; a camera holds no link, its states differ
if TYPE_CHECKING:
    import numpy as np
    from hall.config.schema import Device
    from hall.drivers.camera.decode import Decoded
    from hall.drivers.camera.page import Sharpness

log = logging.getLogger(__name__)

T = TypeVar("T")


class CameraState(enum.StrEnum):
    IDLE = "idle"
    CAPTURING = "capturing"
    OFFLINE = "offline"
    STOPPED = "stopped"


STATE_NAMES = {
    CameraState.IDLE: "空闲",
    CameraState.CAPTURING: "拍摄中",
    CameraState.OFFLINE: "离线",
    CameraState.STOPPED: "已停止",
}


@dataclass(frozen=True)
class Frame:
    image: np.ndarray           # BGR
    captured_at: float          # time.time()
    grab_ms: float              # open (if needed) + read

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class PageScan:
    """One page as the kiosk/clerk flow needs it: straightened page, sharpness verdict, codes.

    `codes` hold the payloads unmasked (the records code looks appointments up by them);
    `summary()` is what may be shown or logged."""

    frame: Frame
    page: np.ndarray
    page_found: bool
    sharpness: Sharpness
    codes: list[Decoded]

    def summary(self, redact: Redactor) -> dict[str, Any]:
        """For screens and diagnostics: code payloads with ID and phone numbers masked by `redact`."""
        codes = [{**c, "text": redact(c["text"])} for c in self.codes]
        return {"frame": [self.frame.width, self.frame.height], "page": [int(self.page.shape[1]),
                int(self.page.shape[0])], "page_found": self.page_found, "sharpness": self.sharpness.as_dict(),
                "codes": codes, "grab_ms": self.frame.grab_ms}


class CameraDevice:
    kind = "camera"

    def __init__(self, name: str, url: str, *, redact: Redactor, emulated: bool = False, window: int | None = None,
                 width: int = 0, height: int = 0, open_timeout: float = 3.0, read_timeout: float = 3.0,
                 warmup: int = 2, idle_timeout: float = 20.0, sharpness_min: float | None = None) -> None:
        parse_source(url)             # a bad URL fails at build time, with the config
        self.name = name
        self.redact = redact          # required: what the technician sees of a scanned code is masked
        self.url = url
        self.emulated = emulated
        self.window = window
        self.capture_options: dict[str, Any] = {"width": width, "height": height, "open_timeout": open_timeout,
                                                "read_timeout": read_timeout, "warmup": warmup}
        self.idle_timeout = idle_timeout
        self.sharpness_min = sharpness_min
        self.state = CameraState.STOPPED
        self.detail = "未检测"
        self.last_error = ""
        self.last_error_at: float | None = None
        self.last_ok_at: float | None = None
        self.last_grab_ms: float | None = None
        self.last_frame_size: tuple[int, int] | None = None
        self.frames = 0
        self.failures = 0
        self.preview_jpeg: bytes | None = None     # small JPEG of the last frame, for the technician page
        self._jobs: queue.Queue[tuple[Callable[[Frame], Any], Future[Any]] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._capture_open = False
        self._stopped = True
        self._was_offline = False

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Nothing to open: the camera is opened by the first grab."""
        with self._lock:
            self._stopped = False
            if self.state == CameraState.STOPPED:
                self.state = CameraState.IDLE

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopped = True
            thread = self._thread
            if thread is not None:
                self._jobs.put(None)
        if thread is not None:
            thread.join(timeout)
        self._fail_pending(CaptureError(f"摄像头 {self.name} 已停止"))
        self.state = CameraState.STOPPED

    @property
    def online(self) -> bool:
        return self.state in (CameraState.IDLE, CameraState.CAPTURING)

    @property
    def active(self) -> bool:
        """True while a worker thread exists (capturing, or holding the camera for the next page)."""
        return self._thread is not None

    # ----------------------------------------------------------------- API
    def grab(self, then: Callable[[Frame], T] | None = None) -> Future[Any]:
        """Capture one frame on the camera thread; `then(frame)` (if given) also runs there.

        The future holds the Frame (or `then`'s result), or a CaptureError with a Chinese message.
        """
        fut: Future[Any] = Future()
        job: Callable[[Frame], Any] = then if then is not None else _identity
        with self._lock:
            if self._stopped:
                fut.set_exception(CaptureError(f"摄像头 {self.name} 未启动"))
                return fut
            self._jobs.put((job, fut))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
                self._thread.start()
        return fut

    def scan(self, *, crop: bool = True, decode: bool = True) -> Future[PageScan]:
        """Grab, crop/deskew, check sharpness and decode codes — all on the camera thread."""
        return self.grab(lambda frame: self.process(frame, crop=crop, decode=decode))

    def process(self, frame: Frame, *, crop: bool = True, decode: bool = True) -> PageScan:
        from hall.drivers.camera import page as pg
        from hall.drivers.camera.decode import decode as decode_codes

        cropped = pg.crop_page(frame.image) if crop else pg.PageCrop(frame.image, None, False)
        threshold = self.sharpness_min if self.sharpness_min is not None else pg.SHARPNESS_MIN
        sharp = pg.check_sharpness(cropped.image, threshold)
        codes = decode_codes(frame.image) if decode else []
        return PageScan(frame=frame, page=cropped.image, page_found=cropped.found, sharpness=sharp, codes=codes)

    def test(self, timeout: float = 15.0) -> dict[str, Any]:
        """Diagnostics: grab a frame; report its size, sharpness and any codes seen. Never raises."""
        fut = self.scan()
        try:
            result: PageScan = fut.result(timeout)
        except FutureTimeout:
            fut.cancel()
            return {"ok": False, "message": f"取图超时（{timeout:.0f} 秒内没有画面）"}
        except (CaptureError, OSError) as exc:
            return {"ok": False, "message": f"无法取得画面：{exc}"}
        except Exception as exc:   # a decoder/OpenCV failure: still a clear line for the technician
            log.exception("camera %s: test failed", self.name)
            return {"ok": False, "message": f"图像处理失败：{exc}"}
        sharp = result.sharpness
        size = f"{result.frame.width}×{result.frame.height}"
        if sharp.message and sharp.brightness < 12:
            return {"ok": False, "message": f"取得画面 {size}，但{sharp.message}", **result.summary(self.redact)}
        blurry = "" if sharp.ok else "，偏模糊：请对焦或放上材料"
        parts = [f"取得画面 {size}（{result.frame.grab_ms:.0f} ms）",
                 f"清晰度 {sharp.value:.0f}（阈值 {self._threshold():.0f}）{blurry}",
                 "已找到页面" if result.page_found else "未找到页面边缘",
                 f"识别到 {len(result.codes)} 个码" if result.codes else "画面中无二维码"]
        return {"ok": True, "message": "；".join(parts), **result.summary(self.redact)}

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": str(self.state),
            "state_name": STATE_NAMES[self.state],
            "detail": self.detail,
            "url": self.url,
            "emulated": self.emulated,
            "window": self.window,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_ok_at": self.last_ok_at,
            "rtt_ms": self.last_grab_ms,
            "pending": self._jobs.qsize(),
            "capture_open": self._capture_open,
            "thread": self._thread is not None,
            "frame_size": list(self.last_frame_size) if self.last_frame_size else None,
            "frames": self.frames,
            "failures": self.failures,
        }

    # ----------------------------------------------------------------- worker
    def _threshold(self) -> float:
        from hall.drivers.camera.page import SHARPNESS_MIN

        return self.sharpness_min if self.sharpness_min is not None else SHARPNESS_MIN

    def _run(self) -> None:
        capture = Capture(self.url, **self.capture_options)
        try:
            while True:
                try:
                    item = self._jobs.get(timeout=self.idle_timeout)
                except queue.Empty:
                    with self._lock:          # grab() enqueues under this lock: no job can slip past
                        if self._jobs.empty():
                            self._thread = None
                            return
                    continue
                if item is None:
                    with self._lock:
                        self._thread = None
                    return
                job, fut = item
                if not fut.set_running_or_notify_cancel():
                    continue
                self._execute(capture, job, fut)
        finally:
            capture.close()
            self._capture_open = False
            if self.state == CameraState.CAPTURING:
                self.state = CameraState.IDLE

    def _execute(self, capture: Capture, job: Callable[[Frame], Any], fut: Future[Any]) -> None:
        self.state = CameraState.CAPTURING
        t0 = time.monotonic()
        try:
            image = capture.read()
        except (CaptureError, OSError) as exc:
            self._capture_open = False
            self._went_offline(exc)
            fut.set_exception(exc if isinstance(exc, CaptureError) else CaptureError(str(exc)))
            return
        except Exception as exc:   # OpenCV raising cv2.error on a broken stream
            capture.close()
            self._capture_open = False
            self._went_offline(exc)
            fut.set_exception(CaptureError(f"摄像头读取出错：{exc}"))
            return
        self._capture_open = capture.is_open
        frame = Frame(image=image, captured_at=time.time(), grab_ms=round((time.monotonic() - t0) * 1000, 1))
        self._came_back(frame)
        try:
            result = job(frame)
        except Exception as exc:
            log.exception("camera %s: processing a frame failed", self.name)
            fut.set_exception(exc)
        else:
            fut.set_result(result)
        finally:
            if self.state == CameraState.CAPTURING:
                self.state = CameraState.IDLE

    def _went_offline(self, exc: BaseException) -> None:
        self.last_error = str(exc) or exc.__class__.__name__
        self.last_error_at = time.time()
        self.failures += 1
        self.detail = ""
        if not self._was_offline:
            log.warning("camera %s (%s) unavailable: %s", self.name, self.url, self.last_error)
            self._was_offline = True
        self.state = CameraState.OFFLINE

    def _came_back(self, frame: Frame) -> None:
        if self._was_offline:
            log.info("camera %s (%s) is back", self.name, self.url)
            self._was_offline = False
        self.frames += 1
        self.last_ok_at = frame.captured_at
        self.last_grab_ms = frame.grab_ms
        self.last_frame_size = (frame.width, frame.height)
        self.detail = ""
        try:
            self.preview_jpeg = _preview(frame.image)
        except Exception:               # a preview is a nicety; never fail a grab for it
            log.debug("camera %s: preview failed", self.name, exc_info=True)

    def _fail_pending(self, exc: BaseException) -> None:
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1].set_running_or_notify_cancel():
                item[1].set_exception(exc)


def _identity(frame: Frame) -> Frame:
    return frame


def _preview(image: np.ndarray, side: int = 480) -> bytes:
    from hall.drivers.camera.capture import cv2_module

    cv2 = cv2_module()
    h, w = image.shape[:2]
    scale = side / max(h, w)
    small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR) \
        if scale < 1 else image
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 75])
    return buf.tobytes() if ok else b""


# --------------------------------------------------------------------- factory
def _num(opts: Mapping[str, Any], key: str, default: float) -> float:
    return float_option(opts, key, default, what="摄像头选项")


def build(spec: Device, ctx: Any) -> CameraDevice:
    """Factory builder for kind "camera" (see hall.drivers.factory).

    `emulator://` starts the MJPEG-over-HTTP camera emulator on 127.0.0.1 (a free port)
    and points the device at its stream URL. Options: width, height (requested capture
    size), open_timeout, read_timeout, warmup, idle_timeout, sharpness_min.
    """
    opts = dict(spec.options)
    url = spec.url
    emulated = url.startswith("emulator://")
    if emulated:
        from hall.drivers.emulators.camera import CameraEmulator

        size = (int(_num(opts, "emulator_width", 1920)), int(_num(opts, "emulator_height", 1080)))
        emu = CameraEmulator(size=size, fps=_num(opts, "emulator_fps", 5.0)).start()
        ctx.manager.add_emulator(spec.name, emu)
        url = emu.url
    sharp = opts.get("sharpness_min")
    # The emulator shares the service's CPU (a real camera is its own hardware): on a busy PC, opening its
    # 1080p MJPEG stream can take longer than a real camera's 3 s, so its default timeouts are longer.
    default_timeout = 8.0 if emulated else 3.0
    return CameraDevice(
        spec.name, url, redact=ctx.redact, emulated=emulated, window=spec.window,
        width=int(_num(opts, "width", 0)), height=int(_num(opts, "height", 0)),
        open_timeout=_num(opts, "open_timeout", default_timeout),
        read_timeout=_num(opts, "read_timeout", default_timeout),
        warmup=int(_num(opts, "warmup", 2)), idle_timeout=_num(opts, "idle_timeout", 20.0),
        sharpness_min=None if sharp is None else _num(opts, "sharpness_min", 0.0),
    )
