// The device-pairing pad (设备未配对), shared by the window tablet (/evaluator/<n>) and the kiosk
// (/kiosk, /kiosk/<id>). A technician makes a one-time 6-digit code on /tech and types it here;
// the device trades it for its token, which api.js keeps in localStorage and sends on every
// request. The tablet hides its whole screen behind the pad until paired (a rating from an
// unpaired host is refused anyway); the kiosk keeps serving citizens (a number is anonymous) and
// offers the pad from a discreet footer status. A revoke on /tech (hub event device.revoked) or a
// refused token brings the pad back. Words: i18n/pairing.js.
import T from "../i18n/pairing.js";
import { api, deviceToken, forgetDeviceToken, keepDeviceToken } from "./api.js";
import { follow } from "./live.js";
import { h, toast } from "./ui.js";

const CODE_LENGTH = 6;
let styled = false;

function addStyles() {
  // its own stylesheet, so neither page's template nor CSS file needs to know about the pad
  if (styled) return;
  styled = true;
  document.head.append(h("link", { rel: "stylesheet", href: new URL("../css/pairing.css", import.meta.url).href }));
}

export class DevicePairing {
  /**
   * @param {object} o
   * @param {"evaluator"|"kiosk"} o.kind  what this page is
   * @param {number|null} [o.window]      the evaluator's window
   * @param {string|null} [o.kiosk]       the kiosk's id; null on /kiosk (any kiosk's code pairs it)
   * @param {boolean} o.lock              the whole screen waits for pairing (tablet) or not (kiosk)
   * @param {HTMLElement|null} [o.footbar] where the unpaired status goes (kiosk)
   */
  constructor({ kind, window = null, kiosk = null, lock, footbar = null }) {
    Object.assign(this, { kind, window, kiosk, lock, footbar });
    this.paired = null;       // {kind, window, kiosk, name} once the server knows this device
    this.overlay = null;
    this.status = null;
    this.code = "";
    this.busy = false;
  }

  /** This page's own device name, as the technician's list shows it. */
  get name() {
    if (this.kind === "evaluator") return T.evaluatorName(this.window);
    return this.kiosk ? T.kioskName(this.kiosk) : null;
  }

  start() {
    addStyles();
    if (this.footbar) {
      this.status = h("button", { type: "button", class: "pairing-status", "data-testid": "pairing-status",
        title: T.statusHint, hidden: true, onclick: () => this.open({ dismiss: true }) }, T.status);
      const countdown = this.footbar.querySelector(".countdown");   // left of the corner toggles
      if (countdown) countdown.after(this.status); else this.footbar.append(this.status);
    }
    // a revoke on /tech, or a fresh snapshot after a reconnect (a revoke may have been missed)
    follow(["device.revoked"], () => this.check());
    document.addEventListener("keydown", (e) => this.onKey(e));
    this.check();
    return this;
  }

  /** Whether the paired device `me` is this page's device. */
  fits(me) {
    if (me.kind !== this.kind) return false;
    if (this.kind === "evaluator") return Number(me.window) === Number(this.window);
    return this.kiosk === null || me.kiosk === this.kiosk;
  }

  async check() {
    if (!deviceToken()) { this.unpaired({}); return; }
    let me;
    try {
      me = await api.get("/api/pairing/me");
    } catch {
      return;    // offline: keep the token and what is on screen; the next snapshot asks again
    }
    if (me.paired && this.fits(me)) { this.setPaired(me); return; }
    if (me.refused) forgetDeviceToken();
    this.unpaired({ other: me.paired ? me : null, revoked: !!me.refused });
  }

  /** The page's own request was refused as unpaired (a stale or another device's token). */
  refused() {
    this.check();
  }

  unpaired({ other = null, revoked = false }) {
    const was = this.paired;
    this.paired = null;
    document.body.dataset.paired = "no";
    if (this.status) this.status.hidden = false;
    if (this.lock) this.open({ other, revoked });
    else if (was && revoked) toast(T.revoked, "bad", 6000);
  }

  setPaired(me) {
    this.paired = me;
    document.body.dataset.paired = "yes";
    if (this.status) this.status.hidden = true;
    this.closePad();
  }

  // ---------------------------------------------------------------- the pad
  open({ other = null, revoked = false, dismiss = false } = {}) {
    this.code = "";
    this.closePad();
    const lead = this.name ? T.lead(this.name) : T.leadAnyKiosk;
    this.cells = Array.from({ length: CODE_LENGTH }, (_, i) =>
      h("span", { class: "pairing-cell", role: "img", "aria-label": T.digit(i + 1) }));
    this.msg = h("p", { class: "pairing-msg", role: "status", "data-testid": "pairing-msg" },
      revoked ? T.revoked : "");
    const keys = h("div", { class: "pairing-keys", role: "group" });
    for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) keys.append(this.key(d, d, () => this.type(d)));
    keys.append(this.key(T.clear, "clear", () => this.setCode(""), "fn"));
    keys.append(this.key("0", "0", () => this.type("0")));
    keys.append(this.key(`⌫ ${T.backspace}`, "backspace", () => this.setCode(this.code.slice(0, -1)), "fn"));
    const box = h("div", { class: "pairing-box" },
      h("h1", { text: other ? T.wrongTitle : T.title }),
      h("p", { class: "pairing-lead", text: other ? `${T.pairedAs(other.name)}${lead}` : lead }),
      h("div", { class: "pairing-code", "data-testid": "pairing-code" }, this.cells),
      this.msg, keys,
      h("p", { class: "pairing-why", text: T.why }),
      dismiss ? h("button", { type: "button", class: "btn pairing-close", "data-testid": "pairing-close",
        onclick: () => this.closePad() }, T.close) : null);
    this.overlay = h("div", { class: `pairing-lock${dismiss ? " dismissable" : ""}`, role: "dialog",
      "aria-modal": "true", "aria-label": T.title, "data-testid": "pairing-lock" }, box);
    document.body.append(this.overlay);
  }

  key(label, id, onPress, cls = "") {
    const b = h("button", { type: "button", class: `pairing-key ${cls}`, "data-key": id, "aria-label": label,
      text: label });
    b.addEventListener("click", onPress);
    return b;
  }

  closePad() {
    if (this.overlay) this.overlay.remove();
    this.overlay = null;
  }

  onKey(e) {
    if (!this.overlay) return;
    if (/^[0-9]$/.test(e.key)) this.type(e.key);
    else if (e.key === "Backspace") this.setCode(this.code.slice(0, -1));
    else return;
    e.preventDefault();
  }

  type(d) {
    if (this.busy || this.code.length >= CODE_LENGTH) return;
    this.setCode(this.code + d);
    if (this.code.length === CODE_LENGTH) this.submit();
  }

  setCode(code) {
    if (this.busy) return;
    this.code = code;
    this.cells.forEach((c, i) => { c.textContent = code[i] || ""; c.classList.toggle("on", i < code.length); });
    if (code) this.say("");
  }

  say(text, kind = "") {
    if (!this.msg) return;
    this.msg.textContent = text;
    this.msg.className = `pairing-msg ${kind}`;
  }

  async submit() {
    const body = { code: this.code, kind: this.kind };
    if (this.kind === "evaluator") body.window = Number(this.window);
    else if (this.kiosk) body.kiosk = this.kiosk;
    this.busy = true;
    this.say(T.pairing);
    try {
      const r = await api.post("/api/pairing", body);
      keepDeviceToken(r.token);
      toast(T.paired(r.name), "ok");
      this.busy = false;
      this.setPaired(r);
      // /kiosk without an id: the kiosk now knows which terminal it is (its printer, its reprints)
      if (this.kind === "kiosk" && !this.kiosk && r.kiosk) location.assign(`/kiosk/${encodeURIComponent(r.kiosk)}`);
    } catch (err) {
      this.busy = false;
      this.setCode("");
      this.say((err && err.message) || T.failed, "bad");
    }
  }
}

