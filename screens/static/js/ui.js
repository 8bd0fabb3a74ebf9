// The screens' frame: DOM helper, header band with hall name and clock, the
// demo/offline banners, the large-mode and voice toggles, the idle countdown,
// toasts and modal dialogs. Pages import what they need.
import T from "../i18n/common.js";
import { api } from "./api.js";
import { icon } from "./icons.js";

/** h("div", {class: "x", onclick: fn, "aria-label": "..."}, child, "text", [more]) */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style" && typeof v === "object") Object.assign(node.style, v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** The hall facts the server put in the page (hall name, categories, windows, staff, settings). */
let facts = null;
export function pageData() {
  if (!facts) {
    const el = document.getElementById("page-data");
    facts = el ? JSON.parse(el.textContent) : {};
  }
  return facts;
}

/** A button with an icon and a label; `speak` is what voice mode reads when it is pressed. */
export function button(label, { icon: iconName, cls = "btn", onClick, title, speak, disabled, attrs = {} } = {}) {
  const b = h("button", { type: "button", class: cls, title, ...attrs, "data-speak": speak || label },
    iconName ? icon(iconName) : null, h("span", { class: "label", text: label }));
  if (disabled) b.disabled = true;
  if (onClick) b.addEventListener("click", onClick);
  return b;
}

// ------------------------------------------------------------------ header band
export function masthead(node, { hall, subtitle = "" }) {
  const time = h("span", { class: "time", "data-testid": "clock-time" });
  const date = h("span", { class: "date" });
  clear(node,
    hallMark(),
    h("div", { class: "hall-name" }, hall, subtitle ? h("span", { class: "hall-sub", text: subtitle }) : null),
    h("div", { class: "clock" }, time, date));
  const tick = () => {
    const d = hallTime();
    const pad = (n) => String(n).padStart(2, "0");
    time.textContent = `${pad(d.hour)}:${pad(d.minute)}`;
    date.textContent = T.dateFmt(d.year, d.month, d.day, T.weekdays[d.weekday]);
  };
  tick();
  setInterval(tick, 1000);
}

/**
 * Now in the hall's own time zone (from the config), whatever zone the PC is set to:
 * {year, month, day, hour, minute, weekday (0 = Sunday)}.
 */
export function hallTime(at = new Date()) {
  const tz = pageData().timezone || undefined;
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric",
      day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" }).formatToParts(at);
  } catch {
    parts = new Intl.DateTimeFormat("en-US", { hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", weekday: "short" }).formatToParts(at);
  }
  const get = (t) => parts.find((p) => p.type === t).value;
  const weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(get("weekday"));
  return { year: Number(get("year")), month: Number(get("month")), day: Number(get("day")),
    hour: Number(get("hour")), minute: Number(get("minute")), weekday };
}

/** A plain mark for the header: a service-hall roof in a circle (no emblem, no insignia). */
function hallMark() {
  const tpl = document.createElement("template");
  tpl.innerHTML = `<svg class="mark" viewBox="0 0 48 48" aria-hidden="true">
    <circle cx="24" cy="24" r="22" fill="#ffffff" opacity="0.14"/>
    <path d="M10 22 24 12l14 10" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>
    <path d="M14 22v13h20V22" fill="none" stroke="#fff" stroke-width="3" stroke-linejoin="round"/>
    <path d="M21 35v-7h6v7" fill="none" stroke="#fff" stroke-width="3" stroke-linejoin="round"/></svg>`;
  return tpl.content.firstElementChild;
}

// ------------------------------------------------------------------ banners
/** Shows "演示设备" while the service runs emulators (checked from /healthz every 30 s). */
export function watchHealth(banners, { every = 30000, onHealth = () => {} } = {}) {
  const demo = h("div", { class: "banner demo", hidden: true, role: "status", "data-testid": "demo-banner" },
    icon("alert"), h("span", { text: T.demoBanner }));
  banners.append(demo);
  const check = async () => {
    try {
      const health = await api.get("/healthz", { timeout: 5000 });
      demo.hidden = !health.emulators_active;
      onHealth(health);
    } catch (err) {
      // /healthz answers 503 with a body when the database is down; keep the last state otherwise.
      if (err && err.body && typeof err.body.emulators_active === "boolean") demo.hidden = !err.body.emulators_active;
    }
  };
  check();
  return setInterval(check, every);
}

export function offlineBanner(banners) {
  const node = h("div", { class: "banner offline", hidden: true, role: "alert", "data-testid": "offline-banner" },
    icon("wifiOff"), h("span", { text: T.offline }));
  banners.append(node);
  return { show: (down) => { node.hidden = !down; } };
}

// ------------------------------------------------------------------ toggles
/**
 * 长辈模式 (large mode) and 语音 (voice) toggles; `reset()` puts both back for the next person:
 * voice off, large mode to this kiosk's configured default (`largeDefault`), which is also how it starts.
 */
export class Toggles {
  constructor(container, { onLarge = () => {}, onVoice = () => {}, largeDefault = false } = {}) {
    this.large = false;
    this.voice = false;
    this.largeDefault = !!largeDefault;
    this.onLarge = onLarge;
    this.onVoice = onVoice;
    this.largeBtn = this._make("large", T.large, "toggle-large", () => this.setLarge(!this.large, true));
    this.voiceBtn = this._make("voice", T.voice, "toggle-voice", () => this.setVoice(!this.voice, true));
    container.append(h("div", { class: "toggles" }, this.largeBtn, this.voiceBtn));
    this._render();
    if (this.largeDefault) this.setLarge(true);
  }

  _make(iconName, label, testid, onClick) {
    const b = h("button", { type: "button", class: "btn toggle", "data-testid": testid, "aria-pressed": "false" },
      icon(iconName), h("span", { class: "label", text: label }), h("span", { class: "state" }));
    b.addEventListener("click", onClick);
    return b;
  }

  setLarge(on, byUser = false) {
    this.large = on;
    document.documentElement.classList.toggle("large", on);
    this._render();
    this.onLarge(on, byUser);
  }

  setVoice(on, byUser = false) {
    this.voice = on;
    this._render();
    this.onVoice(on, byUser);
  }

  reset() {
    if (this.large !== this.largeDefault) this.setLarge(this.largeDefault);
    if (this.voice) this.setVoice(false);
  }

  _render() {
    for (const [b, on] of [[this.largeBtn, this.large], [this.voiceBtn, this.voice]]) {
      b.setAttribute("aria-pressed", String(on));
      b.querySelector(".state").textContent = `（${on ? T.on : T.off}）`;
    }
    this.voiceBtn.querySelector("svg").replaceWith(icon(this.voice ? "voice" : "voiceOff"));
  }
}

// ------------------------------------------------------------------ idle countdown
/**
 * Back to home after `seconds` without a touch. While someone is mid-input
 * (`busy()` true) the page is never cleared silently: it asks "您还在办理吗？"
 * and clears only if nobody answers within a short grace period.
 */
export class IdleTimer {
  constructor({ seconds, onTimeout, onTick = () => {}, busy = () => false }) {
    Object.assign(this, { seconds, onTimeout, onTick, busy });
    this.armed = false;
    this.remaining = seconds;
    this.asking = null;
    this.timer = null;
    const poke = () => this.poke();
    for (const ev of ["pointerdown", "keydown", "input", "wheel"]) document.addEventListener(ev, poke, true);
  }

  /** Start counting; `seconds` overrides the page's setting for this screen (e.g. a shorter one). */
  arm(seconds = null) {
    this.current = seconds || this.seconds;
    this.armed = true;
    this.poke();
    if (!this.timer) this.timer = setInterval(() => this._tick(), 1000);
  }

  disarm() {
    this.armed = false;
    clearInterval(this.timer);
    this.timer = null;
    this._closeAsk();
    this.onTick(null, "off");
  }

  poke() {
    if (!this.armed) return;
    this.remaining = this.current || this.seconds;
    this._closeAsk();
    this.onTick(this.remaining, this.busy() ? "held" : "counting");
  }

  _tick() {
    if (!this.armed || this.asking) return;
    this.remaining -= 1;
    if (this.remaining > 0) {
      this.onTick(this.remaining, this.busy() ? "held" : "counting");
      return;
    }
    if (this.busy()) this._ask();
    else this._fire();
  }

  _fire() {
    this._closeAsk();
    this.disarm();
    this.onTimeout();
  }

  _ask() {
    let left = Math.max(3, Math.min(20, this.current || this.seconds));
    const body = h("p", { text: T.stillThereBody(left) });
    const dlg = modal({
      title: T.stillThere, body: [body], testid: "still-there",
      actions: [{ label: T.keepGoing, cls: "btn primary main", onClick: () => this.poke() }],
    });
    // the footer counts the same seconds as the dialog (they used to disagree: 1 s there, 20 s here)
    this.onTick(left, "asking");
    const timer = setInterval(() => {
      left -= 1;
      body.textContent = T.stillThereBody(left);
      this.onTick(left, "asking");
      if (left <= 0) this._fire();
    }, 1000);
    this.asking = { dlg, timer };
  }

  _closeAsk() {
    if (!this.asking) return;
    clearInterval(this.asking.timer);
    this.asking.dlg.close();
    this.asking = null;
  }
}

// ------------------------------------------------------------------ toast + modal
let toastNode = null;
let toastTimer = null;
export function toast(message, kind = "", ms = 4000) {
  if (!toastNode) {
    toastNode = h("div", { class: "toast", role: "status", "aria-live": "polite", "data-testid": "toast" });
    document.body.append(toastNode);
  }
  toastNode.className = `toast ${kind}`;
  clear(toastNode, icon(kind === "bad" ? "alert" : kind === "ok" ? "check" : "info"), h("span", { text: message }));
  toastNode.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toastNode.hidden = true; }, ms);
}

/** A modal dialog; actions: [{label, cls, onClick(close) -> false to keep open}]. */
export function modal({ title, body = [], actions = [], testid = "modal", dismiss = true }) {
  const back = h("div", { class: "modal-back", "data-testid": testid });
  const box = h("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": title });
  const close = () => back.remove();
  const bar = h("div", { class: "actions" });
  for (const a of actions) {
    bar.append(button(a.label, {
      cls: a.cls || "btn", icon: a.icon, attrs: a.testid ? { "data-testid": a.testid } : {},
      onClick: async () => {
        const keep = a.onClick ? await a.onClick(close) : undefined;
        if (keep !== false) close();
      },
    }));
  }
  append(box, [h("h2", { text: title }), ...body, actions.length ? bar : null]);
  back.append(box);
  if (dismiss) back.addEventListener("click", (e) => { if (e.target === back) close(); });
  document.body.append(back);
  return { close, node: box };
}

/** Wraps an async action: disables the button while it runs and shows errors as a toast. */
export async function busyAction(btn, fn) {
  if (btn) btn.disabled = true;
  try {
    return await fn();
  } catch (err) {
    toast(err && err.message ? err.message : T.serverError, "bad", 6000);
    return undefined;
  } finally {
    if (btn) btn.disabled = false;
  }
}

/** Shows a form's problem in its alert box (hidden until there is one). */
export function showProblem(box, message) {
  clear(box, icon("alert"), message);
  box.hidden = false;
}

/**
 * Sends a PIN sign-in (clerk console, village agent): the button is off while it runs, the PIN leaves
 * its field whatever the answer, and a refusal shows the server's reason in `err`. `then(answer)` runs
 * inside, so a failure to open the signed-in page shows there too.
 */
export async function submitSignIn({ submit, pin, err }, send, then) {
  submit.disabled = true;
  try {
    const r = await send();
    pin.value = "";
    await then(r);
  } catch (e) {
    pin.value = "";
    showProblem(err, e.message);
  } finally {
    submit.disabled = false;
  }
}

// ---------------------------------------------------------------------- dates
/** "2026/12/1", "2026年12月1日", "20261201" or "2026-12-01" → "2026-12-01"; null when it is no real date. */
export function normalDate(text) {
  const s = String(text || "").trim();
  const m = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(s) || /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = new Date(Date.UTC(y, mo - 1, d));
  if (at.getUTCFullYear() !== y || at.getUTCMonth() !== mo - 1 || at.getUTCDate() !== d) return null;
  return `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * A date box for staff pages that shows and takes dates the Chinese way (2026-12-01) whatever the
 * browser's language: a plain <input type=date> shows "12/01/2026" on an English browser. The
 * calendar button opens the browser's own picker and copies its choice back. The returned box has
 * `.value` (always YYYY-MM-DD, or what was typed if it is no date) and fires "change" like an input;
 * `testid` goes on the text box so tests and labels reach it.
 */
export function dateInput({ value = "", min = "", max = "", testid, onchange } = {}) {
  const text = h("input", { type: "text", inputmode: "numeric", maxlength: 12, autocomplete: "off", value,
    placeholder: T.datePlaceholder, "data-testid": testid, class: "date-text" });
  const native = h("input", { type: "date", tabindex: "-1", "aria-hidden": "true", class: "date-native", min, max });
  const pick = h("button", { type: "button", class: "btn toggle date-pick", "aria-label": T.datePick, title: T.datePick,
    onclick: () => {
      native.value = normalDate(text.value) || "";
      try { native.showPicker(); } catch { text.focus(); }
    } }, icon("appointment"));
  native.addEventListener("change", () => { text.value = native.value; });   // its change bubbles to the box
  text.addEventListener("blur", () => {
    const n = normalDate(text.value);
    if (n) text.value = n;
  });
  const box = h("span", { class: "date-input" }, text, pick, native);
  if (onchange) box.addEventListener("change", onchange);
  Object.defineProperty(box, "value", {
    get: () => normalDate(text.value) ?? text.value.trim(),
    set: (v) => { text.value = v || ""; },
  });
  return box;
}
