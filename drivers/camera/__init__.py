"""Document camera (高拍仪): capture, page crop/deskew, sharpness, scans, QR and barcode decoding.

Importing this package (or building the device) loads no OpenCV: every module imports `cv2`
inside the functions that need it, so an idle hall service does not carry its memory.

Modules and the calls other code uses:

* `hall.drivers.camera.device` — `CameraDevice` (kind "camera"): `grab()` / `scan()` return
  futures resolved on the camera's own short-lived thread; `test()` for diagnostics;
  `status()` (idle / capturing / offline / stopped, last error).
* `hall.drivers.camera.page` — pure functions on frames:
  `crop_page(frame) -> PageCrop`, `check_sharpness(image) -> Sharpness` (Chinese message when
  too blurry or dark), `save_scan(pages, data_dir, case_id=…) -> ScanFiles` (JPEG per page, a
  multi-page PDF, paths relative to the data dir for the case record).
* `hall.drivers.camera.decode` — `decode(image) -> [{format, text, decoder, position}]`
  (zxing-cpp first, pyzbar on a miss; UTF-8 and GB18030 payloads from the raw bytes);
  `load_image(path)` for files.
* `hall.drivers.camera.capture` — `Capture(url)` over OpenCV `VideoCapture` (index, device,
  MJPEG/RTSP URL, still image or video file), short timeouts.

Typical records-side use (on the camera thread, via the device):

    scan = camera.scan().result(timeout=10)         # PageScan
    if not scan.sharpness.ok: tell_citizen(scan.sharpness.message)
    files = save_scan([scan.page], data_dir, case_id=case.local_id)
    attach(case, files.relative())
"""
