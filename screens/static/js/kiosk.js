// The kiosk touchscreen (/kiosk): one task per screen, big tiles, 返回首页 and the
// idle countdown at the bottom, 长辈模式 and 语音 in the bottom-right corner.
// All words come from i18n/kiosk.js; personal data is cleared on every return home.
import C from "../i18n/common.js";
import T from "../i18n/kiosk.js";
import { ApiError, api, getOptional, qs } from "./api.js";
import { checkMarks, face, icon } from "./icons.js";
import { scanResult, spellCode } from "./kiosk_scan.js";
import { letterKeyboard, numericKeypad } from "./keypad.js";
import { noticeButton } from "./kiosk_notice.js";
import { pendingReasonView } from "./kiosk_reason.js";
import { cardPanel, cardRefused, clearCardRead, holderLine, installCardReader, streamUrl } from "./kiosk_idcard.js";
import { pinyinKeyboard } from "./kiosk_pinyin.js";
import { LiveStream } from "./live.js";
import { broadcastBanner } from "./hall_broadcast.js";
import { face as staffFace, hallRules, loadFaces } from "./hall_faces.js";
import { DevicePairing } from "./pairing_pad.js";
import { ScreenReader, spellNumber } from "./speech.js";
import {
  IdleTimer, Toggles, busyAction, button, clear, h, masthead, modal, offlineBanner, pageData, toast, watchHealth,
} from "./ui.js";

const page = pageData();
const settings = page.settings || {};
const KIOSK = settings.kiosk || null;   // this terminal's [[kiosks]] id (/kiosk/<id>); null: the default printer
const stage = document.getElementById("stage");
const banners = document.getElementById("banners");
const footbar = document.getElementById("footbar");

const state = {
  snap: null,          // last /api/queue snapshot (waiting per category, windows)
  health: null,        // last /healthz answer (devices, emulators)
  view: null,          // {name, params, node, speak, busy, cleanup, onEvent}
  stack: [],           // where 返回上一步 goes
  catalog: null,       // cached item summaries for the guide
  prints: new Map(),   // ticket id → last "ticket.print" event
  printer: null,       // this kiosk's ticket printer: {name, ready, state, message}
};

/** A request body that says which terminal is asking (its own printer prints). */
function fromKiosk(body) {
  return KIOSK ? { ...body, kiosk: KIOSK } : body;
}

// ------------------------------------------------------------------ frame
masthead(document.getElementById("masthead"), { hall: page.hall,
  subtitle: settings.kiosk_name ? `${T.subtitle} · ${settings.kiosk_name}` : T.subtitle });
watchHealth(banners, { onHealth: (hl) => { state.health = hl; } });
const offline = offlineBanner(banners);
broadcastBanner(banners, "kiosk");        // the manager's hall broadcast (hall_broadcast.js)
const reader = new ScreenReader();

const homeBtn = button(C.home, { icon: "home", cls: "btn home", onClick: () => goHome(),
  attrs: { "data-testid": "home" } });
const backBtn = button(C.back, { icon: "back", cls: "btn home", onClick: () => back(),
  attrs: { "data-testid": "back" } });
const countdown = h("div", { class: "countdown", "data-testid": "countdown", "aria-live": "off" });
footbar.append(homeBtn, backBtn, countdown);
new DevicePairing({ kind: "kiosk", kiosk: KIOSK, lock: false, footbar }).start();   // "本机未配对" status
const toggles = new Toggles(footbar, {
  largeDefault: settings.large,
  onLarge: (on, byUser) => { if (byUser && on && toggles.voice) reader.read(C.largeOnSpoken); },
  onVoice: (on, byUser) => {
    if (!on) reader.stop();
    else if (byUser) reader.read(`${C.voiceOnSpoken}。${state.view && state.view.speak ? state.view.speak : ""}`);
  },
});

const idle = new IdleTimer({
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

// ------------------------------------------------------------------ live data
const live = new LiveStream({
  url: () => streamUrl(KIOSK),
  kinds: ["ticket.issued", "ticket.called", "ticket.updated", "window.updated", "ticket.print", "printer.status"],
  onSnapshot: (snap) => { state.snap = snap; notify("snapshot", snap); loadPrinter(); },
  onEvent: (kind, data) => {
    if (kind === "printer.status") {
      // every printer's changes come by; only this kiosk's own printer matters here
      if (data && state.printer && data.name === state.printer.name) setPrinter({ ...state.printer, ...data });
      return;
    }
    // A print result can arrive before the kiosk has the issue answer: keep the recent ones.
    if (kind === "ticket.print" && data) {
      state.prints.set(data.id, data);
      if (state.prints.size > 50) state.prints.delete(state.prints.keys().next().value);
    }
    if (data && data.waiting && state.snap) {
      for (const c of state.snap.categories) if (c.prefix in data.waiting) c.waiting = data.waiting[c.prefix];
    }
    if (data && data.waits && state.snap) {   // a window paused or opened: the estimates follow
      for (const c of state.snap.categories) if (c.prefix in data.waits) c.wait_minutes = data.waits[c.prefix];
    }
    if (kind === "window.updated" && state.snap && data.window) {
      state.snap.windows = state.snap.windows.map((w) => (w.number === data.window.number ? data.window : w));
    }
    notify(kind, data);
  },
  onStatus: (s) => offline.show(s === "down"),
}).start();

installCardReader({ enabled: !!settings.idcard, stream: live,
  onRead: () => { if (!state.view || state.view.name !== "take") go("take"); } });

// ------------------------------------------------------------------ this kiosk's printer
// Asked at start, on every reconnect and every 30 s; its "printer.status" events in between. The 取号 tile
// says 缺纸 / 离线 before a citizen presses, so nobody is surprised by a number without paper.
const PRINTER_POLL_MS = 30000;

async function loadPrinter() {
  try {
    setPrinter(await api.get(`/api/printer${qs({ kiosk: KIOSK || undefined })}`));
  } catch { /* the offline banner says the rest; keep the last state */ }
}

function setPrinter(p) {
  state.printer = p;
  for (const el of document.querySelectorAll("[data-printer-badge]")) drawPrinterBadge(el);
  notify("printer", p);
}

function printerTrouble() {
  const p = state.printer;
  if (!p || p.ready) return null;
  return T.printerBadge[p.state] || T.printerBadge.offline;
}

function printerBadge() {
  const el = h("span", { "data-printer-badge": "", "data-testid": "take-printer", hidden: true });
  drawPrinterBadge(el);
  return el;
}

function drawPrinterBadge(el) {
  const label = printerTrouble();
  el.hidden = !label;
  el.className = label ? "badge bad printer-badge" : "printer-badge";
  el.dataset.state = state.printer ? state.printer.state : "";
  clear(el, ...(label ? [icon("printer"), h("span", { text: label })] : []));
  const tile = el.closest(".tile");
  if (tile) tile.dataset.speak = label ? `${T.tiles.take.label}。${T.printerBadgeSpeak(label)}` : T.tiles.take.label;
}

loadPrinter();
setInterval(loadPrinter, PRINTER_POLL_MS);

function notify(kind, data) {
  if (state.view && state.view.onEvent) state.view.onEvent(kind, data);
}

// ------------------------------------------------------------------ router
const VIEWS = {};

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

function go(name, params = {}, { replace = false } = {}) {
  if (state.view && !replace && state.view.name !== "home") {
    state.stack.push({ name: state.view.name, params: state.view.params });
  }
  if (state.view && state.view.name === "home") state.stack = [];
  render(name, params);
}

function back() {
  const prev = state.stack.pop();
  if (prev) render(prev.name, prev.params); else goHome();
}

/** Home; on idle timeout also put large mode and voice back for the next person. */
function goHome({ reset = false } = {}) {
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

// ------------------------------------------------------------------ pieces
function title(iconName, text, sub) {
  return h("h1", { class: "screen-title" }, icon(iconName), h("span", { text }),
    sub ? h("span", { class: "sub", text: sub }) : null);
}

function screen(...children) {
  return h("section", { class: "screen" }, ...children);
}

function unavailablePanel(extra = "") {
  return h("div", { class: "card unavailable", "data-testid": "unavailable" },
    h("div", { class: "unavailable-head" }, icon("info"), h("strong", { text: C.unavailable })),
    h("p", { text: extra || C.unavailableBody }));
}

function errorNote(err) {
  return h("div", { class: "note bad", role: "alert" }, icon("alert"), h("span", { text: err.message || C.serverError }));
}

function asList(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

function categoryName(prefix) {
  const c = page.categories.find((x) => x.prefix === prefix);
  return c ? c.name : prefix;
}

function inputBox({ label, testid, maxLength = 32, upper = false, placeholder = "" }) {
  const input = h("input", { type: "text", inputmode: "none", autocomplete: "off", spellcheck: "false",
    maxlength: maxLength, placeholder, "data-testid": testid, "aria-label": label });
  if (upper) input.dataset.upper = "";
  const field = h("div", { class: "field" }, h("label", { text: label }), input);
  return { field, input };
}

// ------------------------------------------------------------------ home
const HOME_TILES = [
  ["take", "ticket"], ["guide", "guide"], ["progress", "progress"], ["appointment", "appointment"],
  ["rate", "rate"], ["suggest", "suggest"], ["scan", "scan"], ["board", "board"],
];

VIEWS.home = () => {
  const tiles = h("div", { class: "tiles home-tiles" });
  for (const [name, iconName] of HOME_TILES) {
    const t = T.tiles[name];
    const tile = h("button", { type: "button", class: "tile", "data-testid": `tile-${name}`, "data-speak": t.label,
      onclick: () => go(name) },
    h("span", { class: "tile-icon" }, icon(iconName)),
    h("span", { class: "tile-label", text: t.label }),
    h("span", { class: "tile-note", text: t.note }));
    if (name === "take") {
      const badge = printerBadge();
      tile.append(badge);
      drawPrinterBadge(badge);    // now inside the tile: it also says the state when read aloud
    }
    tiles.append(tile);
  }
  const node = screen(
    h("div", { class: "welcome" }, h("h1", { text: T.welcome }), h("p", { text: T.welcomeSub })),
    tiles);
  node.classList.add("home");
  return { node, speak: T.homeSpeak };
};

// ------------------------------------------------------------------ take a number
VIEWS.take = () => {
  let lane = "normal";
  let snap = state.snap;
  const grid = h("div", { class: "tiles cat-tiles", "data-testid": "categories" });
  const note = h("div", { class: "note info", hidden: true, "data-testid": "priority-note" },
    icon("info"), h("span", { text: T.priorityNote }));
  const printerNote = h("div", { class: "note bad", role: "status", "data-testid": "take-printer-note" });
  function drawPrinterNote() {
    const label = printerTrouble();
    printerNote.hidden = !label;
    clear(printerNote, ...(label ? [icon("printer"), h("span", { text: T.printerNote(label) })] : []));
  }
  drawPrinterNote();
  const laneBtn = (value, label, iconName) => {
    const b = h("button", { type: "button", class: "choice", role: "radio", "data-testid": `lane-${value}`,
      "data-speak": label, onclick: () => setLane(value) },
    icon(iconName), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen));
    return b;
  };
  const lanes = h("div", { class: "choices", role: "radiogroup" },
    laneBtn("normal", T.laneNormal, "ticket"), laneBtn("priority", T.lanePriority, "priority"));

  function setLane(v) {
    lane = v;
    for (const b of lanes.children) b.setAttribute("aria-checked", String(b.dataset.testid === `lane-${v}`));
    note.hidden = v !== "priority";
    if (v === "priority" && toggles.voice) setTimeout(() => reader.read(T.prioritySpeak), 50);
  }

  function draw() {
    const cats = snap ? snap.categories : page.categories.map((c) => ({ ...c, waiting: 0, wait_minutes: 0 }));
    clear(grid);
    for (const c of cats) {
      const full = !!c.full;
      const t = h("button", { type: "button", class: "tile cat", "data-testid": `cat-${c.prefix}`,
        "aria-disabled": full ? "true" : null,
        "data-speak": full ? T.fullSpeak(c.name) : T.categorySpeak(c.name, c.waiting || 0),
        onclick: () => (full ? toast(T.fullSpeak(c.name), "bad") : issue(c.prefix, t)) },
      h("span", { class: "cat-prefix", text: c.prefix }),
      h("span", { class: "cat-name", text: c.name }),
      full ? h("span", { class: "badge bad" }, icon("alert"), T.full)
        : h("span", { class: "cat-meta" },
          h("span", { class: "badge" }, icon("people"), T.waiting(c.waiting || 0)),
          h("span", { class: "badge ok" }, icon("clock"), T.waitEstimate(c.wait_minutes || 0))));
      grid.append(t);
    }
  }

  let refreshTimer = null;
  async function refresh() {
    try {
      snap = await api.get("/api/queue");
      state.snap = snap;
      draw();
    } catch { /* keep the last numbers; the offline banner tells the rest */ }
  }

  async function issue(prefix, tile) {
    if (grid.dataset.busy) return;
    grid.dataset.busy = "1";
    tile.classList.add("pressed");
    const wait = modal({ title: T.issuing, body: [], dismiss: false, testid: "issuing" });
    try {
      const result = await api.post("/api/tickets", fromKiosk({ category: prefix, lane, ...card.fields() }));
      card.issued();
      wait.close();
      go("ticket", { result }, { replace: true });
    } catch (err) {
      wait.close();
      cardRefused(err);
      modal({ title: T.takeTitle, body: [errorNote(err)], actions: [{ label: C.ok, cls: "btn primary main" }] });
      refresh();
    } finally {
      delete grid.dataset.busy;
      tile.classList.remove("pressed");
    }
  }

  setLane("normal");
  draw();
  refresh();
  const card = cardPanel({ enabled: !!settings.idcard, setLane, speak: (text) => toggles.voice && reader.read(text) });
  const node = screen(h("div", { class: "take-head" }, title("ticket", T.takeTitle, T.takeSub), lanes), printerNote,
    card.node, note, grid);
  return {
    node, speak: T.takeSpeak,
    onEvent: (kind) => {
      if (kind === "printer") { drawPrinterNote(); return; }
      if (kind === "snapshot") { snap = state.snap; draw(); return; }
      if (kind === "ticket.issued" || kind === "ticket.updated" || kind === "ticket.called") {
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(refresh, 400);
      }
    },
    cleanup: () => { clearTimeout(refreshTimer); card.cleanup(); },
  };
};

// ------------------------------------------------------------------ the ticket on screen
const PRINT_OK = new Set(["printed", "ok", "done", "success"]);
const PRINT_BAD = new Set(["failed", "error", "paper_out", "offline", "timeout"]);
const PRINT_WAIT_MS = 10000;
const TICKET_IDLE_SECONDS = 30;

VIEWS.ticket = ({ result }) => {
  const t = result.ticket || {};
  const id = t.id;
  const number = result.number || t.number;
  const status = h("div", { class: "print-status", "data-testid": "print-status", role: "status" });
  const reprint = button(T.reprint, { icon: "printer", cls: "btn main", attrs: { "data-testid": "reprint" },
    onClick: () => doReprint() });
  reprint.hidden = true;
  let timer = null;

  function show(kind, text) {
    status.className = `print-status note ${kind}`;
    status.dataset.state = kind;
    clear(status, icon(kind === "ok" ? "check" : kind === "bad" ? "alert" : "printer"), h("span", { text }));
    reprint.hidden = kind === "ok" || kind === "info";
  }

  function printing() {
    show("info", T.printing);
    clearTimeout(timer);
    // the event normally tells us; ask the ticket itself too, in case the stream was down
    timer = setTimeout(() => check(true), PRINT_WAIT_MS / 3);
  }

  async function check(again) {
    try {
      const r = await api.get(`/api/tickets/${id}`);
      if (onPrint(r.ticket.print_status)) return;
    } catch { /* the event may still come */ }
    if (again) timer = setTimeout(() => check(false), PRINT_WAIT_MS * 2 / 3);
    else show("warn", T.printUnknown);
  }

  function onPrint(ps, message) {
    if (PRINT_OK.has(ps)) { clearTimeout(timer); show("ok", T.printed); return true; }
    if (PRINT_BAD.has(ps)) { clearTimeout(timer); show("bad", T.printFailed(message)); return true; }
    return false;
  }

  async function doReprint() {
    await busyAction(reprint, async () => {
      try {
        const r = await api.post(`/api/tickets/${id}/reprint`, fromKiosk({}));
        if (r && r.printer && r.printer.ready === false) show("bad", T.printFailed(r.printer.message));
        else printing();
      } catch (err) {
        if (err instanceof ApiError && err.missing) toast(T.reprintUnavailable, "bad");
        else throw err;
      }
    });
  }

  const printers = state.health ? (state.health.devices || []).filter((d) => d.kind === "printer") : null;
  if (result.printer && result.printer.state === "none") { show("warn", T.noPrinter); reprint.hidden = true; }
  else if (result.printer && result.printer.ready === false) show("bad", T.printFailed(result.printer.message));
  else if (state.prints.has(id)) { printing(); onPrint(state.prints.get(id).print_status, state.prints.get(id).message); }
  else if (PRINT_OK.has(t.print_status) || PRINT_BAD.has(t.print_status)) onPrint(t.print_status);
  else if (printers && printers.length === 0 && !result.printer) { show("warn", T.noPrinter); reprint.hidden = true; }
  else printing();

  const node = screen(
    h("div", { class: "ticket-card card", "data-testid": "ticket" },
      h("div", { class: "ticket-left" },
        h("div", { class: "ticket-head" }, icon("check"), h("span", { text: T.ticketTitle })),
        h("div", { class: "ticket-label", text: T.yourNumber }),
        h("div", { class: "ticket-number", "data-testid": "ticket-number", text: number }),
        h("div", { class: "ticket-cat" }, h("span", { text: result.category_name || categoryName(t.category) }),
          t.lane === "priority" ? h("span", { class: "badge warn" }, icon("priority"), T.lanePriorityTag) : null,
          t.lane === "appointment" ? h("span", { class: "badge ok" }, icon("appointment"), T.laneAppointmentTag)
            : null),
        holderLine(result)),
      h("div", { class: "ticket-right" },
        h("div", { class: "ticket-ahead", "data-testid": "ticket-ahead", text: T.ahead(result.ahead || 0) }),
        result.ahead > 0 ? h("div", { class: "ticket-est", text: T.estimate(result.wait_minutes || 0) }) : null,
        status,
        result.no_show_rule ? h("p", { class: "muted", text: result.no_show_rule }) : null,
        h("p", { class: "ticket-listen" }, icon("voice"), T.listen),
        h("div", { class: "row" }, reprint,
          button(T.done, { icon: "home", cls: "btn primary main", onClick: () => goHome(),
            attrs: { "data-testid": "done" } })))));
  return {
    node, speak: T.ticketSpeak(spellNumber(number), result.ahead || 0),
    idle: Math.min(settings.idle || 90, TICKET_IDLE_SECONDS),   // the next person should find the home screen
    onEvent: (kind, data) => {
      if (kind === "ticket.print" && data && data.id === id) onPrint(data.print_status, data.message);
    },
    cleanup: () => clearTimeout(timer),
  };
};

// ------------------------------------------------------------------ service guide
async function loadCatalog() {
  if (state.catalog) return state.catalog;
  const data = await getOptional("/api/catalog/items?limit=200");
  if (data === null) return null;
  state.catalog = asList(data, "items");
  setTimeout(() => { state.catalog = null; }, 10 * 60 * 1000);   // pick up a new county catalog
  return state.catalog;
}

function itemCode(it) { return it.impl_code; }
function itemName(it) { return it.name || ""; }
function itemDept(it) { return it.department || ""; }
function itemCat(it) { return it.category || ""; }

function itemRow(it) {
  return h("button", { type: "button", class: "item-row", "data-testid": `item-${itemCode(it)}`,
    "data-speak": itemName(it), onclick: () => go("item", { code: itemCode(it) }) },
  h("span", { class: "item-main" }, h("span", { class: "item-name", text: itemName(it) }),
    h("span", { class: "item-sub muted" }, itemDept(it), it.promised_limit ? `　${T.promisedLimit}：${it.promised_limit}` : "")),
  h("span", { class: "item-tags" },
    it.case_kind_name ? h("span", { class: "badge", text: it.case_kind_name }) : null,
    it.online ? h("span", { class: "badge ok" }, icon("qr"), T.online) : null,
    it.has_forms ? h("span", { class: "badge" }, icon("printer"), T.formTag) : null),
  icon("next"));
}

VIEWS.guide = ({ mode = "category", key = null } = {}) => {
  const body = h("div", { class: "guide-body" });
  const tabs = h("div", { class: "choices tabs", role: "tablist" });
  const node = screen(title("guide", T.guideTitle, T.guideSub), tabs, body);
  const view = { node, speak: T.guideSpeak };
  const setMode = (m, k = null) => {
    view.params = { mode: m };
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.mode === m));
    draw(m, k);
  };
  for (const [m, label, ic] of [["category", T.byCategory, "list"], ["department", T.byDepartment, "building"],
    ["search", T.search, "search"]]) {
    tabs.append(h("button", { type: "button", class: "choice", role: "tab", "data-mode": m,
      "data-testid": `guide-${m}`, "data-speak": label, onclick: () => setMode(m) },
    icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
  }

  async function draw(m, k) {
    clear(body, h("div", { class: "empty", text: C.loading }));
    let items;
    try {
      items = await loadCatalog();
    } catch (err) {
      clear(body, errorNote(err));
      return;
    }
    if (items === null) { clear(body, unavailablePanel()); return; }
    if (m === "search") { drawSearch(); return; }
    const groups = new Map();
    for (const it of items) {
      const g = m === "category" ? itemCat(it) : itemDept(it);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(it);
    }
    const keys = m === "category" ? page.categories.map((c) => c.prefix).filter((p) => groups.has(p))
      : [...groups.keys()].sort((a, b) => a.localeCompare(b, "zh-CN"));
    let current = k && groups.has(k) ? k : keys[0];
    const side = h("div", { class: "guide-side", role: "tablist" });
    const list = h("div", { class: "item-list", "data-testid": "item-list" });
    const pickGroup = (g) => {
      current = g;
      view.params = { mode: m, key: g };
      for (const b of side.children) b.setAttribute("aria-selected", String(b.dataset.key === g));
      clear(list, ...(groups.get(g) || []).map(itemRow));
      list.scrollTop = 0;
    };
    for (const g of keys) {
      const label = m === "category" ? `${g}　${categoryName(g)}` : g || "—";
      side.append(h("button", { type: "button", class: "side-btn", role: "tab", "data-key": g, "data-speak": label,
        onclick: () => pickGroup(g) },
      h("span", { text: label }), h("span", { class: "muted", text: T.itemCount(groups.get(g).length) })));
    }
    clear(body, h("div", { class: "guide-split" }, side, list));
    if (current !== undefined) pickGroup(current);
  }

  function drawSearch() {
    const { field, input } = inputBox({ label: T.searchHint, testid: "search-input", maxLength: 24,
      placeholder: T.searchPlaceholder });
    const count = h("div", { class: "muted", "data-testid": "search-count" });
    const list = h("div", { class: "item-list", "data-testid": "item-list" });
    let timer = null;
    let seq = 0;
    let pending = "";        // pinyin on the keyboard not yet turned into hanzi: searched too (dbsq)
    const run = async () => {
      const q = (input.value + pending).trim();
      const mine = ++seq;
      if (!q) { clear(list); count.textContent = ""; return; }
      try {
        const data = await api.get(`/api/catalog/items${qs({ q })}`);
        if (mine !== seq) return;
        const items = asList(data, "items");
        count.textContent = T.results(items.length);
        clear(list, items.length ? items.map(itemRow) : h("div", { class: "empty", text: T.noResults }));
      } catch (err) {
        if (mine === seq) clear(list, errorNote(err));
      }
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(run, 250); };
    input.addEventListener("input", later);
    clear(body, h("div", { class: "search-split" },
      h("div", { class: "search-left" }, field, pinyinKeyboard(input, { onPending: (p) => { pending = p; later(); } })),
      h("div", { class: "search-right" }, count, list)));
    input.focus();
  }

  setTimeout(() => setMode(mode, key), 0);
  return view;
};

function flowDiagram(steps) {
  const flow = h("ol", { class: "flow", "data-testid": "flow" });
  steps.forEach((s, i) => {
    const limit = s.limit ? (s.limit.text || "") : "";
    flow.append(h("li", { class: "flow-step" },
      h("span", { class: "flow-no", text: String(i + 1) }),
      h("span", { class: "flow-name", text: s.name || "" }),
      s.actor ? h("span", { class: "flow-actor", text: s.actor }) : null,
      limit ? h("span", { class: "flow-limit" }, icon("clock"), limit) : null,
      s.detail ? h("span", { class: "flow-desc", text: s.detail }) : null));
  });
  return flow;
}

function listText(v) {
  return [].concat(v || []).filter(Boolean);
}

VIEWS.item = ({ code }) => {
  const body = h("div", { class: "item-body" }, h("div", { class: "empty", text: C.loading }));
  const head = title("guide", T.guideTitle);
  const node = screen(head, body);
  const view = { node, speak: "" };
  (async () => {
    let it;
    try {
      it = await api.get(`/api/catalog/items/${encodeURIComponent(code)}`);
    } catch (err) {
      if (err instanceof ApiError && err.missing) clear(body, unavailablePanel());
      else clear(body, errorNote(err));
      return;
    }
    clear(head, icon("guide"), h("span", { text: it.name, "data-testid": "item-title" }),
      it.case_kind_name ? h("span", { class: "badge", text: it.case_kind_name }) : null,
      it.online ? h("span", { class: "badge ok" }, icon("qr"), T.online) : null);
    const fee = it.fee || {};
    const facts = [
      [T.promisedLimit, it.promised_limit_text, "clock"],
      [T.legalLimit, it.legal_limit_text, "law"],
      [T.fee, fee.charged ? fee.text : (fee.text || T.free), "money"],
      [T.visits, it.visits !== undefined && it.visits !== null ? T.visitsN(it.visits) : null, "people"],
      [T.department, it.implementing_body || it.department, "building"],
      [T.location, it.location, "pin"],
      [T.hours, it.hours, "clock"],
      [T.phone, it.phone, "phone"],
      [T.complaintPhone, it.complaint_phone, "phone"],
      [T.objects, listText(it.service_objects).join("、"), "user"],
      [T.forms, listText(it.handling_forms).join("、"), "list"],
      [T.result, it.result, "finish"],
    ].filter(([, v]) => v !== undefined && v !== null && v !== "");
    const factsNode = h("dl", { class: "facts", "data-testid": "facts" });
    for (const [k, v, ic] of facts) {
      factsNode.append(h("div", { class: "fact" }, icon(ic), h("dt", { text: k }), h("dd", { text: String(v) })));
    }

    const mats = listText(it.materials);
    const table = mats.length ? h("table", { class: "materials", "data-testid": "materials" },
      h("thead", {}, h("tr", {}, h("th", { text: "" }), h("th", { text: T.materialName }),
        h("th", { text: T.originals }), h("th", { text: T.copies }), h("th", { text: T.required }))),
      h("tbody", {}, mats.map((m, i) => h("tr", {},
        h("td", { class: "num", text: String(i + 1) }),
        h("td", {}, h("div", { class: "mat-name", text: m.name }),
          m.note ? h("div", { class: "mat-note", text: m.note }) : null,
          m.form_title ? h("div", { class: "mat-form" }, icon("printer"), T.hasBlankForm(m.form_title)) : null),
        h("td", { class: "num", text: T.copiesN(Number(m.originals || 0)) }),
        h("td", { class: "num", text: T.copiesN(Number(m.copies || 0)) }),
        h("td", {}, m.required === false ? h("span", { class: "badge", text: T.requiredNo })
          : h("span", { class: "badge ok" }, icon("check"), T.requiredYes))))))
      : h("p", { class: "muted", text: T.noMaterials });
    const forms = listText(it.forms).filter((f) => f.url);
    const formButtons = forms.map((f) => button(`${T.printForm}：${f.title}`, { icon: "printer", cls: "btn main",
      attrs: { "data-testid": `print-form-${f.n}` }, onClick: (e) => printForm(e.currentTarget, f) }));

    const steps = listText(it.process);
    const conditions = listText(it.conditions);
    const basis = listText(it.policy_basis);
    const sections = [
      ["materials", T.materials, "list", () => [table,
        h("div", { class: "row forms-row" }, formButtons, noticeButton(it.impl_code, fromKiosk))]],
      steps.length ? ["process", T.process, "next", () => [flowDiagram(steps)]] : null,
      ["basics", T.itemBasics, "info", () => [factsNode]],
      conditions.length ? ["conditions", T.conditions, "check", () => [
        h("ol", { class: "prose-list" }, conditions.map((c) => h("li", { text: c })))]] : null,
      basis.length ? ["basis", T.basis, "law", () => [
        h("ul", { class: "prose-list" }, basis.map((c) => h("li", { text: c })))]] : null,
      it.online && it.online_url ? ["online", T.onlineTab, "qr", () => [h("div", { class: "online", "data-testid": "online" },
        h("img", { class: "qr", alt: T.onlineTitle, src: `/screens/qr.svg${qs({ text: it.online_url })}` }),
        h("div", { class: "grow" }, h("h2", { text: T.onlineTitle }), h("p", { text: T.onlineHelp })))]] : null,
    ].filter(Boolean);
    const summary = h("div", { class: "item-summary" },
      [[T.promisedLimit, it.promised_limit_text, "clock"], [T.fee, fee.text || T.free, "money"],
        [T.location, it.location, "pin"]].filter(([, v]) => v).map(([k, v, ic]) =>
        h("span", { class: "sum" }, icon(ic), h("span", { class: "muted", text: `${k}：` }), h("strong", { text: v }))));
    const tabs = h("div", { class: "choices tabs", role: "tablist" });
    const panel = h("section", { class: "card item-panel", "data-testid": "item-panel", tabindex: "0" });
    const showTab = (key) => {
      for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.tab === key));
      const sec = sections.find((x) => x[0] === key);
      clear(panel, h("h2", {}, icon(sec[2]), sec[1]), sec[3]());
      panel.scrollTop = 0;
    };
    for (const [key, label, ic] of sections) {
      tabs.append(h("button", { type: "button", class: "choice", role: "tab", "data-tab": key,
        "data-testid": `item-tab-${key}`, "data-speak": label, onclick: () => showTab(key) },
      icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
    }
    clear(body, summary, tabs, panel);
    showTab("materials");
    view.speak = T.itemSpeak(it.name, it.promised_limit_text ? `${T.promisedLimit}${it.promised_limit_text}` : "");
    if (toggles.voice) reader.read(view.speak);
  })();
  return view;
};

/** Prints a blank form through the kiosk browser (Chromium --kiosk-printing sends it to the default printer). */
async function printForm(btn, form) {
  btn.disabled = true;
  const frame = h("iframe", { class: "print-frame", src: form.url, title: form.title, "aria-hidden": "true" });
  frame.addEventListener("load", () => {
    try {
      frame.contentWindow.focus();
      frame.contentWindow.print();
      toast(T.printFormDone, "ok");
    } catch {
      toast(`${T.printForm}${C.unavailable}`, "bad");
    } finally {
      btn.disabled = false;
      setTimeout(() => frame.remove(), 60000);
    }
  }, { once: true });
  document.body.append(frame);
}

// ------------------------------------------------------------------ document camera (QR)
// Whether the service offers QR scanning through the kiosk's document camera: an
// OPTIONS request is answered for an existing route and 404 otherwise, with no side effect.
let cameraProbe = null;
function cameraScanAvailable() {
  if (settings.camera === false) return Promise.resolve(false);
  if (!cameraProbe) {
    cameraProbe = fetch("/api/camera/scan", { method: "OPTIONS" }).then((r) => r.ok).catch(() => false);
  }
  return cameraProbe;
}

/** A "scan the QR under the document camera" button; hidden when there is no camera route. */
function cameraButton(label, onCode) {
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

// ------------------------------------------------------------------ progress query
VIEWS.progress = () => {
  const { field, input } = inputBox({ label: T.progressLabel, testid: "progress-input", maxLength: 32, upper: true });
  const result = h("div", { class: "entry-result" });
  const queryBtn = button(T.query, { icon: "search", cls: "btn primary main", attrs: { "data-testid": "query" },
    onClick: () => run() });
  async function run(code = input.value.trim()) {
    if (!code) return;
    await busyAction(queryBtn, async () => {
      let data;
      try {
        data = await api.get(`/api/cases/progress${qs({ q: code })}`);
      } catch (err) {
        if (err instanceof ApiError && err.missing) { clear(result, unavailablePanel()); return; }
        if (err instanceof ApiError && err.status === 404) { clear(result, errorNote({ message: err.message || T.notFound })); return; }
        throw err;
      }
      input.value = "";
      go("caseResult", { data: data.case || data }, { replace: true });
    });
  }
  const node = screen(title("progress", T.progressTitle, T.progressSub),
    h("div", { class: "entry-split" },
      h("div", { class: "entry-left" }, field, letterKeyboard(input, { lower: false })),
      h("div", { class: "entry-right" }, queryBtn, cameraButton(T.scanQr, (c) => run(c)),
        h("p", { class: "muted", text: T.progressHelp }), result)));
  setTimeout(() => input.focus(), 0);
  return { node, speak: T.progressSpeak };
};

/** A hall-time ISO stamp as "2026年12月6日 10:30" (or the date alone), whatever the browser's locale. */
function when(iso, { time = true } = {}) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}))?/.exec(iso || "");
  if (!m) return iso || "";
  const day = C.dayFmt(Number(m[1]), Number(m[2]), Number(m[3]));
  return time && m[4] ? `${day} ${m[4]}` : day;
}

VIEWS.caseResult = ({ data: c }) => {
  const rows = [
    [T.caseReceipt, c.receipt_no],
    [T.caseNo, c.official_no || T.caseNoPending],
    [T.caseItem, c.item_name],
    [T.caseApplicant, c.applicant_name ? c.applicant_name + (c.agent ? T.byAgent : "") : null],
    [T.caseAccepted, when(c.accepted_at)],
    [T.casePromised, c.promised_finish_at ? when(c.promised_finish_at, { time: false }) : null],
    [T.caseFinished, when(c.finished_at)],
    [T.caseWindow, c.window ? T.mapWindow(c.window) : null],
  ].filter(([, v]) => v);
  const steps = (c.steps || []).map((st) => ({ name: st.status, detail: when(st.at) }));
  const node = screen(title("progress", T.progressTitle),
    h("div", { class: "card case-card", "data-testid": "case-result" },
      h("div", { class: "row" }, h("span", { class: "muted", text: T.caseStatus }),
        h("span", { class: "case-status", "data-testid": "case-status", text: c.status || "" })),
      h("dl", { class: "facts" }, rows.map(([k, v]) => h("div", { class: "fact" }, h("dt", { text: k }), h("dd", { text: v })))),
      c.deadline_note ? h("div", { class: "note info" }, icon("info"), h("span", { text: c.deadline_note })) : null,
      steps.length ? h("div", {}, h("h2", {}, icon("next"), T.caseHistory), flowDiagram(steps)) : null));
  return { node, speak: T.progressResultSpeak(c.item_name || "", c.status || "") };
};

// ------------------------------------------------------------------ appointment check-in
VIEWS.appointment = () => {
  const { field, input } = inputBox({ label: T.apptLabel, testid: "appt-input", maxLength: 16, upper: true });
  const result = h("div", { class: "entry-result" });
  const btn = button(T.checkIn, { icon: "appointment", cls: "btn primary main", attrs: { "data-testid": "check-in" },
    onClick: () => run() });
  async function run(code = input.value.trim()) {
    if (!code) return;
    await busyAction(btn, async () => {
      let r;
      try {
        r = await api.post("/api/appointments/check-in", fromKiosk({ code }));
      } catch (err) {
        if (err instanceof ApiError && err.missing) { clear(result, unavailablePanel()); return; }
        clear(result, errorNote(err));
        return;
      }
      input.value = "";
      const t = r.ticket || {};
      go("ticket", { result: { ticket: t, number: t.number, category_name: categoryName(t.category), ahead: r.ahead,
        wait_minutes: r.wait_minutes, appointment: r.appointment, already: r.already } }, { replace: true });
    });
  }
  const node = screen(title("appointment", T.apptTitle, T.apptSub),
    h("div", { class: "entry-split" },
      h("div", { class: "entry-left" }, field, letterKeyboard(input, { lower: false })),
      h("div", { class: "entry-right" }, btn, cameraButton(T.scanQr, (c) => run(c)), result)));
  setTimeout(() => input.focus(), 0);
  return { node, speak: T.apptSpeak };
};

// ------------------------------------------------------------------ rating at the kiosk (ticket QR)
const LEVEL_KEYS = { 非常满意: "very_good", 满意: "good", 基本满意: "fair", 不满意: "bad", 非常不满意: "very_bad" };

/** The token in a ticket's rating QR (a URL ending in /r/<token>), or null. */
function ratingToken(text) {
  const m = /\/r\/([0-9]+-[A-Za-z0-9_-]+)\s*$/.exec(String(text || "").trim());
  return m ? m[1] : null;
}

VIEWS.rate = () => {
  const body = h("div", { class: "rate-body" });
  const node = screen(title("rate", T.rateTitle, T.rateSub), body);
  const scan = cameraButton(T.rateScan, (text) => open(text));
  async function open(text) {
    const token = ratingToken(text);
    if (!token) { toast(T.rateBadQr, "bad"); return; }
    try {
      const view = await api.get(`/api/ratings/ticket/${encodeURIComponent(token)}`);
      go("rateLevels", { view, token }, { replace: true });
    } catch (err) {
      toast(err.message, "bad");
    }
  }
  clear(body, h("div", { class: "rate-ways" },
    h("div", { class: "card way" }, icon("qr", "icon way-icon"), h("h2", { text: T.rateWayKiosk }),
      h("p", { text: T.rateWayKioskText }), scan,
      h("div", { class: "muted way-off", "data-testid": "rate-no-camera" }, icon("info"), T.rateNoCamera)),
    h("div", { class: "card way" }, icon("phone", "icon way-icon"), h("h2", { text: T.rateWayPhone }),
      h("p", { text: T.rateWayPhoneText })),
    h("div", { class: "card way" }, icon("star", "icon way-icon"), h("h2", { text: T.rateWayWindow }),
      h("p", { text: T.rateWayWindowText }))));
  cameraScanAvailable().then((ok) => {
    const off = body.querySelector(".way-off");
    if (off) off.hidden = ok;
  });
  return { node, speak: T.rateSpeak };
};

VIEWS.rateLevels = ({ view, token }) => {
  const pending = pendingReasonView(view, token, { frame: screen, title,
    onDone: (t, sub) => go("thanks", { title: t, sub }, { replace: true }) });
  if (pending) return pending;
  const svc = (view.services || []).find((x) => !x.rated || x.can_add);
  if (!view.servable || !svc) {
    const node = screen(title("rate", T.rateTitle),
      h("div", { class: "note info" }, icon("info"), h("span", { text: view.servable ? T.rateAlready : T.rateNotYet })));
    return { node, speak: view.servable ? T.rateAlready : T.rateNotYet };
  }
  let chosen = null;
  const reasons = new Set();
  const reasonBox = h("div", { class: "reasons", hidden: true });
  const submit = button(T.rateSubmit, { icon: "check", cls: "btn primary main", attrs: { "data-testid": "rate-submit" },
    onClick: () => send() });
  submit.hidden = true;
  const levels = h("div", { class: "levels" });
  for (const name of view.levels) {
    const key = LEVEL_KEYS[name] || "fair";
    levels.append(h("button", { type: "button", class: `level level-${key}`, "data-speak": name,
      "data-testid": `level-${key}`, onclick: (e) => choose(name, e.currentTarget) }, face(key), h("span", { text: name })));
  }
  const bad = new Set(view.bad_levels || ["不满意", "非常不满意"]);
  function choose(name, btn) {
    chosen = name;
    for (const b of levels.children) b.setAttribute("aria-pressed", String(b === btn));
    reasonBox.hidden = !bad.has(name);
    submit.hidden = false;
  }
  clear(reasonBox, h("h2", { text: T.rateReasonsTitle }), h("div", { class: "chips" }, (view.reasons || []).map((r) =>
    h("button", { type: "button", class: "chip", "data-speak": r.text, "aria-pressed": "false", onclick: (e) => {
      const on = !reasons.has(r.code);
      if (on) reasons.add(r.code); else reasons.delete(r.code);
      e.currentTarget.setAttribute("aria-pressed", String(on));
    } }, checkMarks(), r.text))));
  async function send() {
    if (!chosen) return;
    if (bad.has(chosen) && reasons.size === 0) { toast(T.rateNeedReason, "bad"); return; }
    await busyAction(submit, async () => {
      const r = await api.post("/api/ratings", { token, level: chosen, reasons: [...reasons], channel: "自助终端",
        case_id: svc.case_id, assess_number: svc.rated ? 2 : 1 });
      go("thanks", { title: T.rateThanks, sub: r.message || T.rateThanksSub }, { replace: true });
    });
  }
  const ask = T.rateAsk(view.number, view.window || "");
  const node = screen(title("rate", T.rateTitle, `${ask}${svc.label ? `（${svc.label}）` : ""}`), levels, reasonBox,
    h("div", { class: "row" }, submit));
  return { node, speak: T.rateAsk(spellNumber(view.number), view.window || ""), busy: () => chosen !== null };
};

VIEWS.thanks = ({ title: t, sub }) => {
  const node = screen(h("div", { class: "thanks", "data-testid": "thanks" }, icon("finish", "icon big"),
    h("h1", { text: t }), h("p", { text: sub })));
  const timer = setTimeout(() => goHome(), 8000);
  return { node, speak: `${t}${sub}`, cleanup: () => clearTimeout(timer) };
};

// ------------------------------------------------------------------ complaints and suggestions
let reasonList = null;
async function loadReasons() {
  if (!reasonList) reasonList = await getOptional("/api/reasons");
  return reasonList;
}

VIEWS.suggest = () => {
  let kind = "投诉";
  let win = null;
  const reasons = new Set();
  const chips = h("div", { class: "chips", "data-testid": "reasons" }, h("span", { class: "muted", text: C.loading }));
  const kinds = h("div", { class: "choices", role: "radiogroup" });
  const wins = h("div", { class: "chips" });
  const phone = inputBox({ label: T.contactPhone, testid: "phone-input", maxLength: 11 });
  const note = inputBox({ label: T.noteLabel, testid: "note-input", maxLength: 120 });
  const keys = h("div", { class: "suggest-keys" });
  const useKeys = (input) => {
    clear(keys, input === phone.input ? numericKeypad(phone.input) : pinyinKeyboard(note.input));
  };
  phone.input.addEventListener("focus", () => useKeys(phone.input));
  note.input.addEventListener("focus", () => useKeys(note.input));
  for (const [k, label, ic] of [["投诉", T.kindComplaint, "alert"], ["建议", T.kindSuggestion, "suggest"]]) {
    kinds.append(h("button", { type: "button", class: "choice", role: "radio", "data-kind": k, "data-speak": label,
      "data-testid": `kind-${k}`, "aria-checked": String(k === kind), onclick: () => {
        kind = k;
        for (const b of kinds.children) b.setAttribute("aria-checked", String(b.dataset.kind === k));
      } }, icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
  }
  const winChip = (n, label) => h("button", { type: "button", class: "chip", "aria-pressed": String(n === win),
    "data-speak": label, onclick: (e) => {
      win = n;
      for (const b of wins.children) b.setAttribute("aria-pressed", String(b === e.currentTarget));
    } }, checkMarks(), label);
  wins.append(winChip(null, T.noWindow), ...page.windows.map((w) => winChip(w.number, T.mapWindow(w.number))));

  const submit = button(T.submit, { icon: "check", cls: "btn primary main", attrs: { "data-testid": "suggest-submit" },
    onClick: () => send() });
  const result = h("div", {});
  const split = h("div", { class: "suggest-split" },
    h("div", { class: "suggest-left" }, kinds, h("h2", { text: T.reasonsTitle }), chips,
      h("h2", { text: T.aboutWindow }), wins),
    h("div", { class: "suggest-right" }, phone.field, note.field, keys));
  // 提交 under both columns, always in view however long the reasons get (长辈模式 included)
  const body = h("div", { class: "suggest-body" }, split, h("div", { class: "row suggest-actions" }, submit, result));
  async function send() {
    if (reasons.size === 0 && !note.input.value.trim()) { toast(T.needReason, "bad"); return; }
    const p = phone.input.value.trim();
    if (p && !/^1[3-9]\d{9}$/.test(p)) { toast(T.phoneInvalid, "bad"); return; }
    await busyAction(submit, async () => {
      let r;
      try {
        r = await api.post("/api/complaints", { kind, reasons: [...reasons], text: note.input.value.trim() || null,
          contact_phone: p || null, window: win });
      } catch (err) {
        if (err instanceof ApiError && err.missing) { clear(result, unavailablePanel()); return; }
        throw err;
      }
      go("thanks", { title: T.suggestThanks, sub: T.suggestThanksSub(r.ref_no) }, { replace: true });
    });
  }
  (async () => {
    let list;
    try { list = await loadReasons(); } catch (err) { clear(chips, errorNote(err)); return; }
    if (list === null) { clear(body, unavailablePanel()); return; }
    clear(chips, list.complaint_reasons.map((r) => h("button", { type: "button", class: "chip", "aria-pressed": "false",
      "data-speak": r.text, "data-code": r.code, onclick: (e) => {
        const on = !reasons.has(r.code);
        if (on) reasons.add(r.code); else reasons.delete(r.code);
        e.currentTarget.setAttribute("aria-pressed", String(on));
      } }, checkMarks(), r.text)));
  })();
  useKeys(phone.input);
  const node = screen(title("suggest", T.suggestTitle, T.suggestSub), body);
  return { node, speak: T.suggestSpeak, busy: () => reasons.size > 0 };
};

// ------------------------------------------------------------------ document scanning
VIEWS.scan = () => {
  const body = h("div", { class: "scan-body" }, h("div", { class: "empty", text: C.loading }));
  const node = screen(title("scan", T.scanTitle, T.scanSub), body);
  let card = null;
  const ask = () => clear(body, card);
  (async () => {
    let ok = false;
    try { ok = (await fetch("/api/camera/capture", { method: "OPTIONS" })).ok; } catch { ok = false; }
    if (!ok) { clear(body, unavailablePanel(T.scanUnavailable)); return; }
    const shoot = button(T.shoot, { icon: "scan", cls: "btn primary main", attrs: { "data-testid": "shoot" },
      onClick: () => busyAction(shoot, async () => {
        const r = await api.post("/api/camera/capture", {}, { timeout: 20000 });
        if (!r || !r.code) { toast(r && r.message ? r.message : T.scanSaved, "ok"); return; }
        clear(body, scanResult(r, { again: ask, done: () => goHome() }));
        if (toggles.voice) reader.read(T.scanDoneSpeak(spellCode(r.code)));
      }) });
    card = h("div", { class: "card scan-card" }, icon("scan", "icon way-icon"), h("p", { text: T.scanSub }), shoot,
      h("p", { class: "muted", text: T.scanHint }));
    ask();
  })();
  return { node, speak: T.scanSpeak };
};

// ------------------------------------------------------------------ public board (公示栏)
VIEWS.board = ({ tab = "staff" } = {}) => {
  const tabs = h("div", { class: "choices tabs", role: "tablist" });
  const body = h("div", { class: "board-body" });
  const node = screen(title("board", T.boardTitle, T.boardSub), tabs, body);
  const view = { node, speak: T.boardSpeak };
  let current = tab;
  const TABS = [["staff", T.tabStaff, "people"], ["rules", T.tabRules, "rules"], ["map", T.tabMap, "map"],
    ["notices", T.tabNotices, "info"], ["items", T.tabItems, "list"]];
  for (const [k, label, ic] of TABS) {
    tabs.append(h("button", { type: "button", class: "choice", role: "tab", "data-tab": k, "data-testid": `board-${k}`,
      "data-speak": label, onclick: () => show(k) },
    icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
  }
  function show(k) {
    current = k;
    view.params = { tab: k };
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.tab === k));
    ({ staff: drawStaff, rules: drawRules, map: drawMap, notices: drawNotices, items: drawItems })[k]();
  }
  async function drawStaff() {
    await loadFaces();
    if (current !== "staff") return;
    const windows = state.snap ? state.snap.windows : page.windows.map((w) => ({ ...w, clerk_id: null }));
    clear(body, h("div", { class: "staff-grid", "data-testid": "staff-grid", tabindex: "0" }, windows.map((w) => {
      const s = page.staff.find((x) => x.id === w.clerk_id);
      const cats = (w.categories || []).map((p) => `${p} ${categoryName(p)}`);
      return h("div", { class: "card staff-card" },
        h("div", { class: "staff-window" }, h("span", { class: "win-no", text: String(w.number) }),
          h("span", { text: T.mapWindow(w.number) }),
          w.paused ? h("span", { class: "badge warn" }, icon("pause"), T.paused) : null),
        w.clerk_id ? h("div", { class: "staff-who" },
          staffFace(w.clerk_id, w.clerk_name || "", h("div", { class: "avatar", text: (w.clerk_name || "?").slice(0, 1) })),
          h("div", {}, h("div", { class: "staff-name" }, w.clerk_name || "",
            h("span", { class: "badge", text: w.post === "B" ? T.postB : T.postA })),
          h("div", { class: "muted", text: T.staffNo(w.clerk_id) }),
          s && s.duties ? h("div", { text: s.duties }) : null))
          : h("div", { class: "staff-who none" }, h("div", { class: "avatar off" }, icon("user")),
            h("div", { class: "muted", text: T.offDuty })),
        h("div", { class: "staff-cats" }, h("span", { class: "muted", text: T.windowServes }),
          cats.map((c) => h("span", { class: "badge", text: c }))));
    })));
  }
  async function drawRules() {
    const rules = await hallRules(T.rules);
    if (current !== "rules") return;
    clear(body, h("div", { class: "rules", tabindex: "0", "data-testid": "rules" }, rules.map(([name, text], i) => h("div", { class: "card rule" },
      h("span", { class: "flow-no", text: String(i + 1) }), h("div", {}, h("h2", { text: name }), h("p", { text }))))));
  }
  function drawMap() { clear(body, h("div", { class: "card map-card" }, hallMap())); }
  async function drawNotices() {
    clear(body, h("div", { class: "empty", text: C.loading }));
    let data;
    try { data = await getOptional("/api/notices"); } catch (err) { clear(body, errorNote(err)); return; }
    if (current !== "notices") return;
    if (data === null) { clear(body, unavailablePanel()); return; }
    const list = asList(data, "notices");
    clear(body, list.length ? h("div", { class: "notices", "data-testid": "notices", tabindex: "0" }, list.map((n) => h("article",
      { class: "card notice" },
      h("div", { class: "row" }, h("span", { class: "badge", text: T.noticeKind[n.kind] || T.noticeKind.hall }),
        h("span", { class: "muted", text: T.published(when(n.published_at, { time: false })) })),
      h("h2", { text: n.title || "" }),
      h("p", { class: "prose", text: n.body || "" }))))
      : h("div", { class: "empty", text: T.noNotices }));
  }
  async function drawItems() {
    clear(body, h("div", { class: "empty", text: C.loading }));
    let items;
    try { items = await loadCatalog(); } catch (err) { clear(body, errorNote(err)); return; }
    if (current !== "items") return;
    if (items === null) { clear(body, unavailablePanel()); return; }
    clear(body, h("div", { class: "item-list tall" }, items.map(itemRow)));
  }
  setTimeout(() => show(tab), 0);
  view.onEvent = (kind) => { if (current === "staff" && (kind === "window.updated" || kind === "snapshot")) drawStaff(); };
  return view;
};

/** The hall guide map (群众办事引导图), drawn from the configured windows. */
function hallMap() {
  const ws = page.windows;
  const W = 1200;
  const H = 640;
  const slot = (W - 120) / Math.max(ws.length, 1);
  const parts = [];
  parts.push(`<rect x="20" y="20" width="${W - 40}" height="${H - 40}" rx="18" fill="#f6f9fd" stroke="#0b3a82" stroke-width="4"/>`);
  ws.forEach((w, i) => {
    const x = 60 + i * slot;
    parts.push(`<rect x="${x + 8}" y="40" width="${slot - 16}" height="120" rx="10" fill="#0f4ea8"/>`,
      `<text x="${x + slot / 2}" y="92" font-size="38" font-weight="700" fill="#fff" text-anchor="middle">${esc(T.mapWindow(w.number))}</text>`,
      `<text x="${x + slot / 2}" y="136" font-size="30" fill="#fff" text-anchor="middle">${esc(w.categories.join(" · "))}</text>`);
  });
  parts.push(`<rect x="60" y="190" width="${W - 120}" height="36" rx="6" fill="#dbe7f7"/>`);
  // waiting area: rows of seats
  parts.push(`<rect x="300" y="270" width="600" height="200" rx="14" fill="#eef3fa" stroke="#c4d1e3" stroke-width="3"/>`,
    `<text x="600" y="300" font-size="32" fill="#14213a" text-anchor="middle" font-weight="700">${esc(T.mapWaiting)}</text>`);
  for (let r = 0; r < 3; r += 1) {
    for (let c = 0; c < 10; c += 1) parts.push(`<rect x="${340 + c * 54}" y="${322 + r * 46}" width="40" height="30" rx="6" fill="#9fb6d6"/>`);
  }
  parts.push(`<rect x="70" y="300" width="180" height="120" rx="12" fill="#fff1d6" stroke="#8a4b00" stroke-width="3"/>`,
    `<text x="160" y="370" font-size="34" fill="#8a4b00" text-anchor="middle" font-weight="700">${esc(T.mapGuide)}</text>`,
    `<rect x="950" y="300" width="180" height="120" rx="12" fill="#e3f4ea" stroke="#11663a" stroke-width="3"/>`,
    `<text x="1040" y="370" font-size="34" fill="#11663a" text-anchor="middle" font-weight="700">${esc(T.mapRest)}</text>`,
    `<rect x="200" y="500" width="170" height="80" rx="10" fill="#0a2a5e"/>`,
    `<text x="285" y="550" font-size="30" fill="#fff" text-anchor="middle">${esc(T.mapKiosk)}</text>`,
    `<circle cx="285" cy="485" r="16" fill="#a4161a"/>`,
    `<text x="312" y="478" font-size="32" fill="#a4161a" font-weight="700">★ ${esc(T.mapYouAreHere)}</text>`,
    `<rect x="${W / 2 - 110}" y="${H - 36}" width="220" height="32" fill="#fff" stroke="#0b3a82" stroke-width="3"/>`,
    `<text x="${W / 2}" y="${H - 12}" font-size="30" fill="#0b3a82" text-anchor="middle" font-weight="700">▲ ${esc(T.mapEntrance)}</text>`,
    `<path d="M${W / 2} ${H - 50} L${W / 2} 490 M${W / 2} 490 L600 240" stroke="#0f4ea8" stroke-width="6" stroke-dasharray="14 10" fill="none"/>`);
  const tpl = document.createElement("template");
  tpl.innerHTML = `<svg class="hall-map" data-testid="hall-map" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(T.tabMap)}"
    font-family="Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif">${parts.join("")}</svg>`;
  return tpl.content.firstElementChild;
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// ------------------------------------------------------------------ start
window.hallKiosk = { go, goHome, state, idle };   // for the browser tests and field diagnosis
goHome();
