import T from "../i18n/kiosk.js";
import { ApiError, api } from "./api.js";
import { settings } from "./kiosk_shell.js";
import { busyAction, button, toast } from "./ui.js";

// ------------------------------------------------------------------ document camera (QR)
// Whether the service offers QR scanning through the kiosk's document camera: an
// OPTIONS request is answered for an existing route and 404 otherwise, with no side effect.
let cameraProbe = null;
export function cameraScanAvailable() {
  if (settings.camera === false) return Promise.resolve(false);
  if (!cameraProbe) {
    cameraProbe = fetch("/api/camera/scan", { method: "OPTIONS" }).then((r) => r.ok).catch(() => false);
  }
  return cameraProbe;
}

/** A "scan the QR under the document camera" button; hidden when there is no camera route. */
export function cameraButton(label, onCode) {
  const b = button(label, { icon: "qr", cls: "btn main", attrs: { "data-testid": "scan-qr" } });
  b.hidden = true;
  cameraScanAvailable().then((ok) => { b.hidden = !ok; });
  b.addEventListener("click", () => busyAction(b, async () => {
    toast(T.scanning, "", 8000);
    let r;
    try {
      r = await api.post("/api/camera/scan", { symbologies: ["qr"] }, { timeout: 15000 });
    } catch (err) {
      if (err instanceof ApiError && (err.missing || err.status === 503)) { toast(T.cameraMissing, "bad"); return; }
      throw err;
    }
    const code = r && (r.text || (r.codes && r.codes[0] && r.codes[0].text));
    if (code) onCode(String(code).trim()); else toast(T.scanFailed, "bad");
  }));
  return b;
}
