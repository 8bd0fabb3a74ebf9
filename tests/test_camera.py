"""Document camera: decoding (Chinese payloads in UTF-8 and GB18030), crop/deskew, sharpness,
saving scans, capture over HTTP from the MJPEG emulator, the CameraDevice, `kiosk scan`, and
the promise that OpenCV is not loaded until the camera is first used."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from hall.drivers.camera import decode as dec
from hall.drivers.camera import page as pg
from hall.drivers.camera.capture import Capture, CaptureError, parse_source
from hall.drivers.camera.device import CameraDevice, CameraState
from hall.drivers.emulators.camera import CameraEmulator, qr_image, render_scene
from hall.security import redact_text

from tests.waiting import WAIT_SECONDS, wait_until

UTF8 = ("预约签到码：YY20261125-0042 示范镇便民服务中心", "utf-8")
GB = ("办件回执：430224100-2026-000123 最低生活保障申请", "gb18030")
GB_LONG = ("办件回执：430224100-2026-000123 最低生活保障申请（补正材料：户口簿、收入证明）；承诺办结 2026-12-16",
           "gb18030")
PAYLOADS = (UTF8, GB)


def flat_qr(text: str, charset: str) -> np.ndarray:
    """A QR code on a white margin, as a file or a screenshot would hold it."""
    code = qr_image(text, charset, box=5)
    return cv2.copyMakeBorder(code, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)


def texts(found: list[dec.Decoded]) -> set[str]:
    return {d["text"] for d in found}


# ------------------------------------------------------------------ charsets
def test_payload_bytes_are_decoded_as_utf8_then_gb18030() -> None:
    s = "预约码：湘A·2026"
    assert dec.decode_payload(s.encode("utf-8")) == s
    assert dec.decode_payload(s.encode("gb18030")) == s
    legacy = "低保申请：湘A－2026"
    assert dec.decode_payload(legacy.encode("gb2312")) == legacy      # GB18030 is a superset
    assert dec.decode_payload(b"YY20261125-0042", library_text="YY20261125-0042") == "YY20261125-0042"
    # An ECI said what the bytes are (here Shift_JIS): the library's text wins over our GB18030 guess.
    jp = "予約"
    assert dec.decode_payload(jp.encode("shift_jis"), library_text=jp, has_eci=True) == jp
    # Bytes no charset explains are kept as the library read them, never dropped.
    assert dec.decode_payload(b"\xff\xfe\xff", library_text="ÿþÿ") == "ÿþÿ"
    assert dec.decode_payload(b"\xff\xfe\xff") == "ÿþÿ"


@pytest.mark.parametrize("payload", [UTF8, GB, GB_LONG], ids=["utf8", "gb18030", "gb18030-long"])
def test_zxing_reads_chinese_payload_in_both_charsets(payload: tuple[str, str]) -> None:
    found = dec.decode_zxing(flat_qr(*payload))
    assert [d["text"] for d in found] == [payload[0]]
    assert found[0]["format"] == "QRCode" and found[0]["decoder"] == "zxing-cpp"
    assert len(found[0]["position"]) == 4


@pytest.mark.parametrize("payload", [UTF8, GB, GB_LONG], ids=["utf8", "gb18030", "gb18030-long"])
def test_pyzbar_reads_chinese_payload_from_raw_bytes(payload: tuple[str, str]) -> None:
    """zbar's own charset guess turns GB18030 into mojibake; with ZBAR_CFG_BINARY we get the bytes."""
    found = dec.decode_pyzbar(flat_qr(*payload))
    assert [d["text"] for d in found] == [payload[0]]
    assert found[0]["decoder"] == "pyzbar" and found[0]["format"] == "QRCode"


def test_eci_marked_utf8_payload_from_opencv_encoder() -> None:
    params = cv2.QRCodeEncoder_Params()
    params.mode = cv2.QRCODE_ENCODER_MODE_ECI
    code = cv2.QRCodeEncoder.create(params).encode("办件编号 430224-2026-7")
    img = cv2.resize(code, None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST)
    img = cv2.copyMakeBorder(img, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=255)
    assert texts(dec.decode(img)) == {"办件编号 430224-2026-7"}


def test_rotated_scene_decodes_both_codes() -> None:
    scene = render_scene(PAYLOADS, size=(960, 540), angle=-15, seed=3)
    found = dec.decode(scene.image)
    assert texts(found) == {UTF8[0], GB[0]}
    # Positions are in frame coordinates and inside the page.
    x0, y0 = scene.corners.min(axis=0)
    x1, y1 = scene.corners.max(axis=0)
    for d in found:
        for x, y in d["position"]:
            assert x0 <= x <= x1 and y0 <= y <= y1


def test_blurred_and_noisy_scene_still_decodes() -> None:
    scene = render_scene(PAYLOADS, size=(1280, 720), angle=10, blur=1.3, noise=12, seed=5)
    assert texts(dec.decode(scene.image)) == {UTF8[0], GB[0]}


def test_pyzbar_is_the_retry_after_a_zxing_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    scene = render_scene(PAYLOADS, size=(960, 540), angle=6, seed=1)
    reference = {d["text"]: d["position"] for d in dec.decode(scene.image)}
    monkeypatch.setattr(dec, "decode_zxing", lambda *a, **k: [])
    monkeypatch.setattr(dec, "PYZBAR_MAX_SIDE", 800)        # force the downscale path on a small frame
    found = dec.decode(scene.image)
    assert {d["decoder"] for d in found} == {"pyzbar"}
    assert texts(found) == {UTF8[0], GB[0]}
    for d in found:       # positions are scaled back to the original frame
        ref = np.array(reference[d["text"]], dtype=float)
        got = np.array(d["position"], dtype=float)
        assert np.abs(got.mean(axis=0) - ref.mean(axis=0)).max() < 15
    assert dec.decode(scene.image, retry=False) == []


def test_code128_is_found_after_a_qr_miss_and_in_thorough_mode() -> None:
    import zxingcpp

    bar = np.array(zxingcpp.create_barcode("HALL-2026-000123", zxingcpp.BarcodeFormat.Code128).to_image(scale=3))
    bar = cv2.copyMakeBorder(bar, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    found = dec.decode(bar)
    assert [(d["format"], d["text"]) for d in found] == [("Code128", "HALL-2026-000123")]
    both = np.full((bar.shape[0] + 400, max(bar.shape[1], 400)), 255, np.uint8)
    both[:bar.shape[0], :bar.shape[1]] = bar
    qr = flat_qr(*UTF8)
    both[bar.shape[0]:bar.shape[0] + min(400, qr.shape[0]), :min(400, qr.shape[1])] = qr[:400, :400]
    assert {d["format"] for d in dec.decode(both)} == {"QRCode"}           # fast path: QR tier only
    assert {d["format"] for d in dec.decode(both, thorough=True)} == {"QRCode", "Code128"}


def test_grey_conversion_without_opencv_matches_opencv() -> None:
    img = render_scene(size=(320, 240)).image
    mods = sys.modules.pop("cv2")
    try:
        numpy_grey = dec.to_gray(img)
    finally:
        sys.modules["cv2"] = mods
    assert np.abs(numpy_grey.astype(int) - cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(int)).max() <= 2


# ------------------------------------------------------------------ page
def test_order_corners() -> None:
    pts = np.array([[90, 95], [10, 10], [12, 90], [100, 5]], dtype=np.float32)
    assert pg.order_corners(pts).tolist() == [[10, 10], [100, 5], [90, 95], [12, 90]]


@pytest.mark.parametrize(("angle", "page_scale"), [(0.0, 0.86), (9.0, 0.86), (-14.0, 0.86), (32.0, 0.7)])
def test_crop_finds_the_page_corners_and_straightens_it(angle: float, page_scale: float) -> None:
    scene = render_scene(PAYLOADS, size=(960, 540), angle=angle, keystone=0.0, seed=2, page_scale=page_scale)
    crop = pg.crop_page(scene.image)
    assert crop.found and crop.corners is not None
    assert np.abs(crop.corners - scene.corners).max() < 4.0          # pixels, on a 960×540 frame
    h, w = crop.image.shape[:2]
    page_w, page_h = scene.page_size
    assert abs(h / w - page_h / page_w) < 0.02                       # A4: √2
    assert abs(w - page_w) <= 4 and abs(h - page_h) <= 4
    # The straightened page is upright: its QR codes sit in the lower half, right of centre.
    for d in dec.decode(crop.image):
        cx, cy = np.mean(d["position"], axis=0)
        assert cy > h / 2 and cx > w / 3


def test_crop_with_perspective_and_noise() -> None:
    scene = render_scene(PAYLOADS, size=(960, 540), angle=7, keystone=0.04, noise=15, seed=4)
    crop = pg.crop_page(scene.image)
    assert crop.found and crop.corners is not None
    assert np.abs(crop.corners - scene.corners).max() < 4.0
    assert texts(dec.decode(crop.image)) == {UTF8[0], GB[0]}


def test_no_page_gives_the_whole_frame_back() -> None:
    desk = render_scene(size=(640, 480), black=True).image
    crop = pg.crop_page(desk)
    assert not crop.found and crop.corners is None and crop.image is desk


def test_sharpness_accepts_a_sharp_page_and_rejects_blur_with_a_chinese_message() -> None:
    sharp = pg.check_sharpness(pg.crop_page(render_scene(size=(960, 540), angle=5).image).image)
    assert sharp.ok and sharp.message == "" and sharp.value > 2 * pg.SHARPNESS_MIN
    blurred = pg.check_sharpness(pg.crop_page(render_scene(size=(960, 540), angle=5, blur=3.0).image).image)
    assert not blurred.ok and blurred.value < pg.SHARPNESS_MIN
    assert blurred.message == pg.BLURRY_MESSAGE and "模糊" in blurred.message and "重拍" in blurred.message
    noisy_blur = render_scene(size=(1280, 720), angle=5, blur=3.0, noise=25, seed=9).image
    assert not pg.check_sharpness(pg.crop_page(noisy_blur).image).ok      # noise is not detail
    dark = pg.check_sharpness(render_scene(size=(640, 480), black=True).image)
    assert not dark.ok and dark.message == pg.DARK_MESSAGE
    # A camera-specific threshold, as the device option sharpness_min sets it.
    assert not pg.check_sharpness(pg.crop_page(render_scene(size=(960, 540)).image).image, threshold=1e6).ok


def test_save_scan_writes_jpegs_and_a_multipage_pdf(tmp_path: Path) -> None:
    pages = [pg.crop_page(render_scene(size=(640, 480), angle=a, seed=i).image).image
             for i, a in enumerate((4.0, -6.0, 10.0))]
    files = pg.save_scan(pages, tmp_path, case_id="C20261125-0007")
    assert [p.name for p in files.pages] == ["page-01.jpg", "page-02.jpg", "page-03.jpg"]
    for path, page in zip(files.pages, pages, strict=True):
        img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == page.shape
    assert files.pdf is not None and files.pdf.read_bytes().startswith(b"%PDF")
    pdf = files.pdf.read_bytes()
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 3
    assert pdf.count(b"/DCTDecode") >= 3                    # pages embedded as JPEG, not raw pixels
    rel = files.relative()
    assert rel["pages"][0].startswith("scans/") and rel["pages"][0].endswith("/page-01.jpg")
    assert rel["pdf"] == f"{rel['folder']}/scan.pdf" and "C20261125-0007" in rel["folder"]
    assert not [p for p in files.folder.iterdir() if p.name.startswith(".")]    # no temp files left


def test_save_scan_single_page_and_hostile_case_id(tmp_path: Path) -> None:
    page = render_scene(size=(320, 240)).image
    files = pg.save_scan([page], tmp_path / "data", case_id="../../etc/passwd")
    assert files.pdf is None and len(files.pages) == 1
    assert files.folder.resolve().is_relative_to((tmp_path / "data" / "scans").resolve())
    assert ".." not in files.relative()["folder"]
    again = pg.save_scan([page], tmp_path / "data", case_id="../../etc/passwd", pdf=True)
    assert again.folder != files.folder and again.pdf is not None      # never overwrites
    with pytest.raises(ValueError):
        pg.save_scan([], tmp_path)


# ------------------------------------------------------------------ capture
@pytest.mark.parametrize(("url", "kind", "target"), [
    ("0", "index", 0),
    ("video://2", "index", 2),
    ("/dev/video0", "device", "/dev/video0"),
    ("http://127.0.0.1:8081/stream.mjpg", "stream", "http://127.0.0.1:8081/stream.mjpg"),
    ("rtsp://10.0.0.5/live", "stream", "rtsp://10.0.0.5/live"),
    ("file:///srv/scans/%E9%A1%B5.jpg", "still", "/srv/scans/页.jpg"),
    ("/srv/replay/session.avi", "video", "/srv/replay/session.avi"),
    ("C:\\scans\\page.png", "still", "C:\\scans\\page.png"),
])
def test_parse_source(url: str, kind: str, target: object) -> None:
    src = parse_source(url)
    assert (src.kind, src.target) == (kind, target)


@pytest.mark.parametrize("url", ["", "emulator://", "ftp://host/x", "video://abc"])
def test_parse_source_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        parse_source(url)


def test_capture_reads_frames_over_http_from_the_mjpeg_emulator() -> None:
    emu = CameraEmulator(PAYLOADS, size=(640, 480), fps=10).start()
    try:
        assert emu.url.startswith("http://127.0.0.1:")
        cap = Capture(emu.url, open_timeout=10, read_timeout=10)   # generous: a busy machine is not a failure
        frame = cap.read()
        assert frame.shape == (480, 640, 3)
        assert not cap.is_open                     # a stream is reopened per read: no stale frames
        assert texts(dec.decode(frame)) == {UTF8[0], GB[0]}
        assert "/stream.mjpg" in emu.record.requests
        assert wait_until(lambda: emu.record.frames_sent >= 1)
    finally:
        emu.stop()


def test_capture_from_a_still_file_with_a_chinese_name(tmp_path: Path) -> None:
    path = tmp_path / "高拍仪样张.jpg"
    buf = cv2.imencode(".jpg", render_scene(size=(320, 240)).image)[1]
    path.write_bytes(buf.tobytes())
    with Capture(str(path)) as cap:
        assert cap.read().shape == (240, 320, 3)
    with pytest.raises(CaptureError, match="无法读取图片"):
        Capture(str(tmp_path / "没有.jpg")).read()


def test_capture_errors_are_clear_and_quick() -> None:
    emu = CameraEmulator(size=(320, 240)).start()
    url = emu.url
    emu.stop()
    t0 = time.monotonic()
    with pytest.raises(CaptureError, match="无法连接网络摄像头"):
        Capture(url, open_timeout=1, read_timeout=1).read()
    assert time.monotonic() - t0 < 5


def test_live_grab_drains_queued_frames() -> None:
    """A local camera kept open has old frames queued; the read drains them until one is live."""
    from hall.drivers.camera import capture as capmod

    class FakeCap:
        def __init__(self, queued: int) -> None:
            self.queued, self.grabs = queued, 0

        def get(self, prop: int) -> float:
            return 30.0

        def grab(self) -> bool:
            self.grabs += 1
            if self.queued:
                self.queued -= 1            # queued: returns at once
            else:
                time.sleep(0.03)            # live: waits for the sensor
            return True

        def retrieve(self) -> tuple[bool, np.ndarray]:
            return True, np.zeros((2, 2, 3), np.uint8)

        def release(self) -> None:
            pass

    c = capmod.Capture("0")
    fake = FakeCap(queued=4)
    c._cap = fake
    c.opened_at = None                      # not fresh: it has been open a while
    c.read()
    assert fake.grabs == 5 and fake.queued == 0


# ------------------------------------------------------------------ device
@pytest.fixture
def emulator() -> Iterator[CameraEmulator]:
    emu = CameraEmulator(PAYLOADS, size=(640, 480), fps=10).start()
    emu.frame_jpeg()          # render now: a real camera answers at once, the first render takes a while
    yield emu
    emu.stop()


def test_device_grabs_through_its_own_thread_and_goes_idle(emulator: CameraEmulator) -> None:
    dev = CameraDevice("camera", emulator.url, redact=redact_text, emulated=True, idle_timeout=0.3, read_timeout=2)
    assert dev.status()["state"] == "stopped"
    dev.start()
    assert dev.state == CameraState.IDLE and not dev.active
    assert not [t for t in threading.enumerate() if t.name == "camera-camera"]
    frame = dev.grab().result(10)
    assert (frame.width, frame.height) == (640, 480) and frame.grab_ms > 0
    assert threading.current_thread().name != "camera-camera"
    ran_on: list[str] = []
    scan = dev.grab(lambda f: ran_on.append(threading.current_thread().name) or f.width).result(10)
    assert scan == 640 and ran_on == ["camera-camera"]
    st = dev.status()
    assert st["state"] == "idle" and st["frames"] == 2 and st["frame_size"] == [640, 480]
    assert dev.preview_jpeg and dev.preview_jpeg.startswith(b"\xff\xd8")
    assert wait_until(lambda: not dev.active)            # idle timeout: thread gone
    assert not [t for t in threading.enumerate() if t.name == "camera-camera"]
    assert not dev.status()["capture_open"]
    dev.stop()
    assert dev.state == CameraState.STOPPED
    with pytest.raises(CaptureError):
        dev.grab().result(1)


def test_device_scan_and_test_report(emulator: CameraEmulator) -> None:
    dev = CameraDevice("camera", emulator.url, redact=redact_text, idle_timeout=0.2)
    dev.start()
    try:
        result = dev.scan().result(10)
        assert result.page_found and result.sharpness.ok
        assert texts(result.codes) == {UTF8[0], GB[0]}
        report = dev.test()
        assert report["ok"] and "640×480" in report["message"] and "识别到 2 个码" in report["message"]
        emulator.set_fault("blur")
        blurred = dev.scan().result(10)
        assert not blurred.sharpness.ok and blurred.sharpness.message == pg.BLURRY_MESSAGE
        emulator.set_fault("black")
        report = dev.test()
        assert not report["ok"] and "全黑" in report["message"]
    finally:
        dev.stop()


def test_device_test_masks_id_numbers_in_payloads() -> None:
    emu = CameraEmulator([("申请人身份证 430224199001011234 电话 13812345678", "utf-8")], size=(640, 480)).start()
    dev = CameraDevice("camera", emu.url, redact=redact_text)
    dev.start()
    try:
        report = dev.test()
        assert report["ok"]
        shown = json.dumps(report, ensure_ascii=False)
        assert "430224199001011234" not in shown and "13812345678" not in shown
        assert "430***********1234" in shown
        assert dev.scan().result(10).codes[0]["text"].endswith("13812345678")    # raw for the records code
    finally:
        dev.stop()
        emu.stop()


def test_device_unplug_silence_and_replug(emulator: CameraEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hall.drivers.camera.device")
    dev = CameraDevice("camera", emulator.url, redact=redact_text, open_timeout=2, read_timeout=0.5, idle_timeout=0.2)
    dev.start()
    try:
        assert dev.test()["ok"]
        emulator.unplug()
        for _ in range(2):
            report = dev.test()
            assert not report["ok"] and "无法取得画面" in report["message"]
        st = dev.status()
        assert st["state"] == "offline" and st["state_name"] == "离线" and "无法连接" in st["last_error"]
        assert sum("unavailable" in r.getMessage() for r in caplog.records) == 1     # logged once
        emulator.replug()
        assert dev.test()["ok"] and dev.state == CameraState.IDLE
        assert sum("is back" in r.getMessage() for r in caplog.records) == 1
        emulator.set_fault("silent")
        t0 = time.monotonic()
        report = dev.test()
        assert not report["ok"] and "没有画面" in report["message"]
        assert time.monotonic() - t0 < 5
        emulator.set_fault(None)
        assert dev.test()["ok"]
    finally:
        dev.stop()


def test_factory_builds_camera_with_emulator() -> None:
    from hall.config.schema import Device
    from hall.drivers.camera.device import build
    from hall.drivers.manager import DeviceManager

    manager = DeviceManager()
    ctx = SimpleNamespace(manager=manager, redact=redact_text)
    spec = Device(name="camera", kind="camera", url="emulator://",
                  options={"emulator_width": 640, "emulator_height": 480, "idle_timeout": 0.2})
    dev = build(spec, ctx)  # type: ignore[arg-type]
    try:
        assert manager.emulators_active and isinstance(manager.emulators["camera"], CameraEmulator)
        assert dev.emulated and dev.url == manager.emulators["camera"].url
        dev.start()
        assert dev.test()["ok"]
    finally:
        dev.stop()
        manager.stop()
    with pytest.raises(ValueError):
        build(Device(name="c2", kind="camera", url="ftp://nope"), ctx)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        build(Device(name="c3", kind="camera", url="0", options={"idle_timeout": "soon"}), ctx)  # type: ignore[arg-type]


# ------------------------------------------------------------------ laziness
LAZY_CHECK = textwrap.dedent("""
    import sys, threading
    from hall.config.loader import load_config
    import hall.drivers.camera, hall.drivers.camera.device, hall.drivers.camera.capture
    import hall.drivers.camera.page, hall.drivers.camera.decode, hall.drivers.emulators.camera
    from hall.drivers.camera.device import build
    from hall.config.schema import Device
    from hall.drivers.manager import DeviceManager
    from types import SimpleNamespace
    m = DeviceManager()
    dev = build(Device(name="camera", kind="camera", url="emulator://",
                       options={"emulator_width": 640, "emulator_height": 480, "idle_timeout": 0.2}),
                SimpleNamespace(manager=m, redact=lambda text: text))   # laziness only: no codes shown
    dev.start()
    before = "cv2" in sys.modules
    threads = [t.name for t in threading.enumerate() if t.name.startswith("camera-") and t.name != "camera-emulator"]
    frame = dev.grab().result(20)
    after = "cv2" in sys.modules
    dev.stop(); m.stop()
    print(before, threads, after, frame.width)
""")


def test_opencv_is_not_loaded_until_the_first_capture(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", LAZY_CHECK], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "[]", "True", "640"]


@pytest.mark.slow
def test_demo_service_does_not_load_opencv(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        from hall.config.loader import load_config, demo_config_path
        from hall.services import build_services
        from pathlib import Path
        svc = build_services(load_config(demo_config_path()), Path({str(tmp_path)!r}))
        svc.devices.start()
        cams = svc.devices.by_kind("camera")
        print(len(cams), "cv2" in sys.modules)
        svc.stop()
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["1", "False"]


# ------------------------------------------------------------------ kiosk scan
def test_kiosk_scan_prints_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hall.cli import main

    good = tmp_path / "回执.jpg"
    good.write_bytes(cv2.imencode(".jpg", render_scene(PAYLOADS, size=(960, 540), angle=8).image)[1].tobytes())
    assert main(["scan", str(good)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {d["text"] for d in lines} == {UTF8[0], GB[0]}
    assert all(d["file"] == str(good) and d["format"] == "QRCode" and d["decoder"] == "zxing-cpp"
               and len(d["position"]) == 4 for d in lines)


def test_kiosk_scan_exit_codes_and_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hall.cli import main

    blank = tmp_path / "blank.png"
    blank.write_bytes(cv2.imencode(".png", np.full((200, 200), 255, np.uint8))[1].tobytes())
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a picture")
    assert main(["scan", str(blank)]) == 1
    err = capsys.readouterr().err
    assert "未识别到二维码或条码" in err and "blank.png" in err
    assert main(["scan", str(broken), str(tmp_path / "missing.png")]) == 2
    err = capsys.readouterr().err
    assert "不是可识别的图片" in err and "文件不存在" in err
    qr = tmp_path / "id.png"
    qr.write_bytes(cv2.imencode(".png", flat_qr("身份证 430224199001011234", "utf-8"))[1].tobytes())
    assert main(["scan", str(qr)]) == 0
    out = capsys.readouterr().out
    assert "430224199001011234" not in out and "430***********1234" in out


def test_emulator_text_commands_and_http_control() -> None:
    import urllib.error
    import urllib.request

    emu = CameraEmulator(size=(320, 240)).start()
    try:
        assert "blur" in emu.fault("") and emu.fault("blur") == "画面失焦模糊" and emu.active_fault == "blur"
        assert emu.fault("none") == "恢复正常画面" and emu.active_fault is None
        assert "gb18030" in emu.fault("payload 办件回执 XYZ @gb18030")
        assert emu.payloads == (("办件回执 XYZ", "gb18030"),)
        assert "未知命令" in emu.fault("explode")
        base = emu.url.rsplit("/", 1)[0]
        with urllib.request.urlopen(f"{base}/control?fault=noise", timeout=WAIT_SECONDS) as r:
            assert json.loads(r.read()) == {"fault": "noise"}
        assert emu.active_fault == "noise"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/control?fault=explode", timeout=WAIT_SECONDS)
        assert err.value.code == 400
        with urllib.request.urlopen(f"{base}/frame.jpg", timeout=WAIT_SECONDS) as r:
            assert r.headers["Content-Type"] == "image/jpeg" and r.read(2) == b"\xff\xd8"
    finally:
        emu.stop()


def test_kiosk_emulate_camera_starts_and_stops(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from hall.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("blur\n"))

    assert main(["emulate", "camera", "--port", "0", "--width", "320", "--height", "240", "--duration", "0.3",
                 "--payload", "办件回执 1@gb18030"]) == 0
    out = capsys.readouterr().out
    assert "高拍仪模拟器" in out and 'kind = "camera", url = "http://127.0.0.1:' in out
    assert main(["emulate", "camera", "--port", "0", "--duration", "0.1", "--payload", "x@nonsense"]) == 2
