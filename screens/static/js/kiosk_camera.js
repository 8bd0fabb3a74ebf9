// A code a citizen brings (受理回执, 预约码, a ticket's rating QR): read under the document camera, or typed
// on the letter keyboard beside one button that sends it (办件进度 and 预约签到 share that form).
import T from "../i18n/kiosk.js";
import { ApiError, api } from "./api.js";
import { letterKeyboard } from "./keypad.js";
import { inputBox } from "./kiosk_parts.js";
import { settings } from "./kiosk_shell.js";
import { busyAction, button, h, toast } from "./ui.js";

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

/**
 * The code form: an input over the letter keyboard, and beside it the button, the camera button, `notes` and
 * the result box. `send(code, { input, result })` runs while the button is busy (typed or scanned code alike).
 */
export function codeEntry({ field: f, action, notes = [], send }) {
  const { field, input } = inputBox({ ...f, upper: true });
  const result = h("div", { class: "entry-result" });
  const btn = button(action.label, { icon: action.icon, cls: "btn primary main", attrs: { "data-testid": action.testid },
    onClick: () => run() });
  async function run(code = input.value.trim()) {
    if (!code) return;
    await busyAction(btn, () => send(code, { input, result }));
  }
  setTimeout(() => input.focus(), 0);
  return h("div", { class: "entry-split" },
    h("div", { class: "entry-left" }, field, letterKeyboard(input, { lower: false })),
    h("div", { class: "entry-right" }, btn, cameraButton(T.scanQr, (c) => run(c)), ...notes, result));
}
