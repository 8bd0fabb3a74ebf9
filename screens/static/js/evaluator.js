// The evaluator tablet at a window (/evaluator/<n>). Idle: who is serving here.
// On the clerk's "请评价" (hub event rating.prompt for this window): five big
// faces with words; a 差评 needs at least one reason; thanks; back to idle.
// A press outside a prompt records nothing: there is simply no button to press.
import T from "../i18n/evaluator.js";
import { ApiError, api, getOptional } from "./api.js";
import { face, icon } from "./icons.js";
import { offerPendingReason, reasonChips } from "./evaluator_reason.js";
import { face as staffFace, loadFaces } from "./hall_faces.js";
import { LiveStream } from "./live.js";
import { DevicePairing } from "./pairing_pad.js";
import { ScreenReader } from "./speech.js";
import { clear, h, masthead, offlineBanner, pageData, toast, watchHealth } from "./ui.js";

const page = pageData();
const settings = page.settings || {};
const windowNo = settings.window;
const stage = document.getElementById("stage");
const banners = document.getElementById("banners");
const footbar = document.getElementById("footbar");

masthead(document.getElementById("masthead"), { hall: page.hall, subtitle: T.subtitle(windowNo) });
watchHealth(banners);
const offline = offlineBanner(banners);
const reader = new ScreenReader();
// only this window's paired tablet may rate: until then the whole screen is the pairing pad
const pairing = new DevicePairing({ kind: "evaluator", window: windowNo, lock: true }).start();
const countdown = h("div", { class: "countdown", "data-testid": "countdown" });
footbar.append(countdown);

const LEVELS = ["very_good", "good", "fair", "bad", "very_bad"];
const BAD = new Set(["bad", "very_bad"]);
const PROMPT_SECONDS = settings.idle || 60;
const THANKS_SECONDS = 5;

const state = { win: null, prompt: null, mode: "idle", timer: null, left: 0, recorded: [], reasons: [] };

// 差评 reasons come from the service (the county's list, codes + words); refreshed now and then.
async function loadReasons() {
  try {
    const r = await getOptional("/api/reasons");
    if (r && Array.isArray(r.rating_reasons)) state.reasons = r.rating_reasons;
  } catch { /* keep the last list */ }
}
loadReasons();
setInterval(loadReasons, 30 * 60 * 1000);

// ------------------------------------------------------------------ timing
function countDown(seconds, onEnd) {
  clearInterval(state.timer);
  state.left = seconds;
  countdown.textContent = T.timeLeft(state.left);
  state.timer = setInterval(() => {
    state.left -= 1;
    countdown.textContent = T.timeLeft(Math.max(0, state.left));
    if (state.left <= 0) { clearInterval(state.timer); onEnd(); }
  }, 1000);
}

function stopCountdown() {
  clearInterval(state.timer);
  countdown.textContent = "";
}

// ------------------------------------------------------------------ screens
// The clerks' photos (公示栏 faces): asked at start and every 10 minutes; the idle screen redraws with them.
function refreshFaces() {
  loadFaces().then(() => { if (state.mode === "idle") showIdle(); });
}
refreshFaces();
setInterval(refreshFaces, 600000);

function showIdle() {
  state.mode = "idle";
  state.prompt = null;
  stopCountdown();
  const w = state.win;
  document.body.dataset.mode = "idle";
  if (!w || !w.clerk_id) {
    clear(stage, h("div", { class: "idle", "data-testid": "idle" },
      h("div", { class: "avatar big off" }, icon("user")),
      h("h1", { text: T.nobody }), h("p", { class: "muted", text: T.nobodySub })));
    return;
  }
  const staff = page.staff.find((s) => s.id === w.clerk_id);
  clear(stage, h("div", { class: "idle", "data-testid": "idle" },
    staffFace(w.clerk_id, w.clerk_name || "", h("div", { class: "avatar big", text: (w.clerk_name || "?").slice(0, 1) })),
    h("div", { class: "who" },
      h("h1", { "data-testid": "clerk-name" }, w.clerk_name || "",
        h("span", { class: "badge", text: w.post === "B" ? T.postB : T.postA })),
      h("div", { class: "muted", text: T.staffNo(w.clerk_id) }),
      staff && staff.duties ? h("div", { class: "duties", text: staff.duties }) : null,
      w.paused ? h("div", { class: "badge warn" }, icon("pause"), T.paused) : null),
    h("p", { class: "slogan" }, icon("star"), T.welcome)));
}

function showPrompt(prompt) {
  state.mode = "prompt";
  state.prompt = prompt;
  document.body.dataset.mode = "prompt";
  const number = prompt.number || (prompt.ticket && prompt.ticket.number);
  const grid = h("div", { class: "levels", "data-testid": "levels" });
  for (const key of LEVELS) {
    grid.append(h("button", { type: "button", class: `level level-${key}`, "data-testid": `level-${key}`,
      onclick: () => choose(key) }, face(key), h("span", { class: "level-name", text: T.levels[key] })));
  }
  clear(stage, h("div", { class: "prompt" },
    h("h1", { text: number ? T.askFor(number) : T.ask }), grid));
  if (!pairing.overlay) reader.read(T.askSpeak);   // an unpaired tablet asks for nothing it cannot take
  countDown(promptSeconds(prompt), () => showIdle());
}

function promptSeconds(prompt) {
  if (prompt.expires_at) {
    const left = Math.round((Date.parse(prompt.expires_at) - Date.now()) / 1000);
    // trust the server's deadline unless the tablet's clock is clearly off
    if (left > 3 && left < 3600) return Math.min(left, PROMPT_SECONDS * 5);
  }
  return PROMPT_SECONDS;
}

function choose(key) {
  if (state.mode !== "prompt") return;
  if (BAD.has(key)) { showReasons(key); return; }
  submit(key, []);
}

function showReasons(key) {
  state.mode = "reasons";
  const chosen = new Set();
  const chips = reasonChips(state.reasons, chosen, "reasons", () => { send.disabled = chosen.size === 0; });
  const send = h("button", { type: "button", class: "btn primary main", "data-testid": "submit", disabled: true,
    onclick: () => (chosen.size ? submit(key, [...chosen]) : toast(T.needReason, "bad")) }, icon("check"), T.submit);
  clear(stage, h("div", { class: "prompt" },
    h("div", { class: "picked" }, face(key), h("span", { text: T.levels[key] })),
    h("h1", { text: T.reasonsTitle }), chips,
    h("div", { class: "row center" },
      h("button", { type: "button", class: "btn main", onclick: () => showPrompt(state.prompt) }, icon("back"), T.back),
      send)));
  reader.read(T.reasonsTitle);
}

async function submit(key, reasons) {
  const prompt = state.prompt;
  if (!prompt) return;
  for (const b of stage.querySelectorAll("button")) b.disabled = true;
  const before = state.mode;
  state.mode = "sending";   // our own rating.closed ("rated") may arrive before the answer
  try {
    const body = { level: T.levels[key], reasons };
    if (prompt.prompt_id) body.prompt_id = prompt.prompt_id;
    await api.post(`/api/evaluator/${windowNo}/rating`, body);
    state.recorded.push(body);
    showThanks();
  } catch (err) {
    if (err instanceof ApiError && err.code === "device_not_paired") pairing.refused();
    // 409/410: the prompt was closed or timed out on the server: nothing was recorded.
    if (err instanceof ApiError && (err.status === 409 || err.status === 410 || err.status === 404)) {
      toast(err.message, "bad");
      showIdle();
      return;
    }
    state.mode = before;
    toast(err.message || T.failed, "bad");
    for (const b of stage.querySelectorAll("button")) b.disabled = false;
  }
}

function showThanks() {
  state.mode = "thanks";
  state.prompt = null;
  document.body.dataset.mode = "thanks";
  clear(stage, h("div", { class: "thanks", "data-testid": "thanks" }, icon("finish", "icon big"),
    h("h1", { text: T.thanks }), h("p", { text: T.thanksSub })));
  reader.read(T.thanksSpeak);
  countDown(THANKS_SECONDS, () => showIdle());
}

// ------------------------------------------------------------------ live
function forMe(d) {
  return !!d && Number(d.window) === Number(windowNo);
}

new LiveStream({
  kinds: ["window.updated", "rating.prompt", "rating.closed", "rating.recorded"],
  onSnapshot: (snap) => {
    state.win = (snap.windows || []).find((w) => w.number === windowNo) || null;
    if (state.mode === "idle") showIdle();
  },
  onEvent: (kind, d) => {
    if (kind === "window.updated" && d.window && d.window.number === windowNo) {
      state.win = d.window;
      if (state.mode === "idle") showIdle();
    } else if (kind === "rating.prompt" && forMe(d)) {
      showPrompt(d);
    } else if (kind === "rating.recorded" && forMe(d) && state.mode === "idle") {
      // a keypad 差评 without reason keys (原因待补): offer its reasons here while the citizen is at the window
      offerPendingReason({ windowNo, stage, reasons: state.reasons, speak: (t) => reader.read(t), done: (sent) => {
        if (sent) showThanks(); else showIdle();
      } }).then((shown) => {
        if (shown) { state.mode = "reason"; countDown(PROMPT_SECONDS, () => showIdle()); }
      });
    } else if (kind === "rating.closed" && forMe(d)) {
      // closed elsewhere (cancelled, expired, replaced): this tablet must not record it any more
      const mine = state.prompt && state.prompt.prompt_id === d.prompt_id;
      if ((state.mode === "prompt" || state.mode === "reasons") && (mine || !state.prompt)) showIdle();
    }
  },
  onStatus: (s) => offline.show(s === "down"),
}).start();

// A prompt may already be open when the tablet (re)loads.
(async () => {
  try {
    const open = await getOptional(`/api/evaluator/${windowNo}/prompt`);
    const p = open && open.prompt;
    if (p && state.mode === "idle") showPrompt(p);
  } catch { /* idle it is */ }
})();

showIdle();
window.hallEvaluator = { state };
