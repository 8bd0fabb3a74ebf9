"""Document camera routes (高拍仪): read a QR under the camera, scan a page to a file.

The camera's own thread grabs, crops and decodes; the request thread only
waits on that future (bounded), so a missing camera answers 503 quickly.
"""

from __future__ import annotations

import secrets
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response, jsonify
from hall.web.auth import require_role
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("camera", __name__)

WAIT_SECONDS = 12.0


class ScanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbologies: list[str] = Field(default_factory=lambda: ["qr"], max_length=10)


def _camera() -> Any:
    cams = services().devices.by_kind("camera")
    if not cams:
        raise ApiError("no_camera", "本大厅未配置高拍仪", 503)
    return cams[0]


def _scan(decode: bool) -> Any:
    from hall.drivers.camera.capture import CaptureError

    fut = _camera().scan(decode=decode)
    try:
        return fut.result(WAIT_SECONDS)
    except FutureTimeout:
        fut.cancel()
        raise ApiError("camera_timeout", "高拍仪无响应，请联系工作人员", 503) from None
    except CaptureError as exc:
        raise ApiError("camera_offline", f"高拍仪暂不可用：{exc}", 503) from None


@bp.post("/api/camera/scan")
def scan_code() -> Response:
    """Decode the codes under the camera (appointment QR, case receipt…). Payloads are returned as read."""
    req = body(ScanRequest)
    result = _scan(decode=True)
    wanted = {s.lower() for s in req.symbologies}
    codes = [c for c in result.codes if not wanted or any(w in str(c.get("format", "")).lower() for w in wanted)]
    if not codes:
        raise ApiError("no_code", "未识别到二维码，请把二维码平放在高拍仪下方再试", 422)
    return jsonify({"text": codes[0]["text"], "codes": [{"format": c["format"], "text": c["text"]} for c in codes]})


@bp.post("/api/camera/capture")
def capture_page() -> tuple[Response, int]:
    """Citizen self-scan (材料扫描): save the straightened page; the pick-up code goes to the window."""
    from hall.drivers.camera.page import save_scan

    result = _scan(decode=False)
    if not result.sharpness.ok:
        raise ApiError("blurry", result.sharpness.message or "图像不清晰，请放平材料后重试", 422)
    code = f"{secrets.randbelow(10**6):06d}"
    svc = services()
    # the folder is named by the hall's date (its time zone), not the PC's: a server set to UTC would file
    # a 7:30 scan in Shanghai under yesterday
    files = save_scan([result.page], svc.data_dir, case_id=f"kiosk-{code}", now=svc.clock.now())
    return jsonify({
        "code": code,
        "message": f"材料已扫描保存。请到窗口告知工作人员取件码 {code}",
        "page_found": result.page_found,
        "files": files.relative(),
    }), 201


@bp.get("/api/camera/preview.jpg")
@require_role("technician", "clerk")
def preview() -> Response:
    """The last frame, small: for the technician page and the clerk's scan check."""
    frame = _camera().preview_jpeg
    if not frame:
        raise ApiError("no_frame", "高拍仪尚未拍摄画面", 404)
    return Response(frame, mimetype="image/jpeg")
