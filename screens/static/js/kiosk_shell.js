// The kiosk's frame and router: the page data, the shared state, the footer (返回首页, 返回上一步, the idle
// countdown, 长辈模式 and 语音 toggles), the idle timer and the screen stack. Each screen lives in its own
// kiosk_<screen>.js and registers itself in VIEWS; kiosk.js loads them and goes home.
import C from "../i18n/common.js";
import T from "../i18n/kiosk.js";
import { clearCardRead } from "./kiosk_idcard.js";
import { broadcastBanner } from "./hall_broadcast.js";
import { DevicePairing } from "./pairing_pad.js";
import { ScreenReader } from "./speech.js";
import {
  IdleTimer, Toggles, button, clear, h, masthead, offlineBanner, pageData, watchHealth,
} from "./ui.js";

export const page = pageData();
export const settings = page.settings || {};
export const KIOSK = settings.kiosk || null;   // this terminal's [[kiosks]] id (/kiosk/<id>); null: the default printer
const stage = document.getElementById("stage");
const banners = document.getElementById("banners");
const footbar = document.getElementById("footbar");

export const state = {
  snap: null,          // last /api/queue snapshot (waiting per category, windows)
  health: null,        // last /healthz answer (devices, emulators)
  view: null,          // {name, params, node, speak, busy, cleanup, onEvent}
  stack: [],           // where 返回上一步 goes
  catalog: null,       // cached item summaries for the guide
  prints: new Map(),   // ticket id → last "ticket.print" event
  printer: null,       // this kiosk's ticket printer: {name, ready, state, message}
};

/** A request body that says which terminal is asking (its own printer prints). */
export function fromKiosk(body) {
  return KIOSK ? { ...body, kiosk: KIOSK } : body;
}

// ------------------------------------------------------------------ frame
masthead(document.getElementById("masthead"), { hall: page.hall,
  subtitle: settings.kiosk_name ? `${T.subtitle} · ${settings.kiosk_name}` : T.subtitle });
watchHealth(banners, { onHealth: (hl) => { state.health = hl; } });
export const offline = offlineBanner(banners);
broadcastBanner(banners, "kiosk");        // the manager's hall broadcast (hall_broadcast.js)
export const reader = new ScreenReader();

const homeBtn = button(C.home, { icon: "home", cls: "btn home", onClick: () => goHome(),
  attrs: { "data-testid": "home" } });
const backBtn = button(C.back, { icon: "back", cls: "btn home", onClick: () => back(),
  attrs: { "data-testid": "back" } });
const countdown = h("div", { class: "countdown", "data-testid": "countdown", "aria-live": "off" });
footbar.append(homeBtn, backBtn, countdown);
new DevicePairing({ kind: "kiosk", kiosk: KIOSK, lock: false, footbar }).start();   // "本机未配对" status
export const toggles = new Toggles(footbar, {
  largeDefault: settings.large,
  onLarge: (on, byUser) => { if (byUser && on && toggles.voice) reader.read(C.largeOnSpoken); },
  onVoice: (on, byUser) => {
    if (!on) reader.stop();
    else if (byUser) reader.read(`${C.voiceOnSpoken}。${state.view && state.view.speak ? state.view.speak : ""}`);
  },
});

export const idle = new IdleTimer({
  seconds: settings.idle || 90,
  busy: () => isBusy(),
  onTimeout: () => goHome({ reset: true }),
  onTick: (left, mode) => {
    if (mode === "off") { countdown.textContent = ""; return; }
    clear(countdown, mode === "held" ? h("span", { text: C.countdownHeld })
      : h("span", {}, h("strong", { text: String(left) }), C.countdown(left).replace(String(left), "")));
  },
});

// Voice mode reads what was pressed (点读); a new screen then reads its own prompt.
document.addEventListener("click", (e) => {
  if (!toggles.voice) return;
  const b = e.target.closest("[data-speak]");
  if (b && !b.closest(".toggles")) reader.read(b.dataset.speak);
}, true);

export function notify(kind, data) {
  if (state.view && state.view.onEvent) state.view.onEvent(kind, data);
}

// ------------------------------------------------------------------ router
export const VIEWS = {};

function render(name, params = {}) {
  if (state.view && state.view.cleanup) state.view.cleanup();
  for (const m of document.querySelectorAll(".modal-back")) m.remove();
  const v = VIEWS[name](params);
  Object.assign(v, { name, params });
  state.view = v;
  clear(stage, v.node);
  document.body.dataset.view = name;
  const atHome = name === "home";
  homeBtn.style.visibility = atHome ? "hidden" : "visible";
  // no step to go back to: the button takes no room either, so the footer keeps one row at 1366×768
  backBtn.style.display = atHome || !state.stack.length ? "none" : "";
  if (atHome) idle.disarm(); else idle.arm(v.idle);
  if (toggles.voice && v.speak) reader.read(v.speak);
}

export function go(name, params = {}, { replace = false } = {}) {
  if (state.view && !replace && state.view.name !== "home") {
    state.stack.push({ name: state.view.name, params: state.view.params });
  }
  if (state.view && state.view.name === "home") state.stack = [];
  render(name, params);
}

export function back() {
  const prev = state.stack.pop();
  if (prev) render(prev.name, prev.params); else goHome();
}

/** Home; on idle timeout also put large mode and voice back for the next person. */
export function goHome({ reset = false } = {}) {
  state.stack = [];
  clearCardRead();
  if (reset) { toggles.reset(); reader.stop(); }
  render("home");
}

function isBusy() {
  if (state.view && state.view.busy && state.view.busy()) return true;
  if (stage.querySelector(".keyboard.ime.composing")) return true;      // pinyin typed, no hanzi chosen yet
  return [...stage.querySelectorAll("input, textarea")].some((el) => el.value.trim() !== "");
}
