// The clerk console (/clerk): sign in to a window, work the queue with big
// buttons or F1–F9, see who waits, today's figures, and register cases.
import C from "../i18n/common.js";
import T from "../i18n/clerk.js";
import { ApiError, api, getOptional } from "./api.js";
import { checkMarks, icon } from "./icons.js";
import { numericKeypad } from "./keypad.js";
import { LiveStream } from "./live.js";
import {
  button, clear, h, hallTime, masthead, modal, offlineBanner, pageData, showProblem, submitSignIn, toast, watchHealth,
} from "./ui.js";
import { mountCasePanel } from "./clerk_cases.js";
import { mountCardBox } from "./clerk_idcard.js";
import { queueTools } from "./clerk_queue_tools.js";

const page = pageData();
const settings = page.settings || {};
const stage = document.getElementById("stage");
const banners = document.getElementById("banners");
const footbar = document.getElementById("footbar");
const head = document.getElementById("masthead");

masthead(head, { hall: page.hall, subtitle: T.subtitle });
watchHealth(banners);
const offline = offlineBanner(banners);
const whoBox = h("div", { class: "who", "data-testid": "who" });
head.insertBefore(whoBox, head.querySelector(".clock"));

const state = { session: null, window: null, snap: null, figures: null, servedHere: 0, live: null, busy: false };

// ------------------------------------------------------------------ login
function showLogin() {
  state.session = null;
  if (state.live) { state.live.stop(); state.live = null; }
  clear(whoBox);
  clear(footbar);
  const staff = h("input", { type: "text", inputmode: "numeric", autocomplete: "username", maxlength: 32,
    "data-testid": "staff-id", "aria-label": T.staffId });
  const pin = h("input", { type: "password", inputmode: "numeric", autocomplete: "current-password", maxlength: 32,
    "data-testid": "pin", "aria-label": T.pin });
  let win = settings.window || null;
  let post = null;
  const wins = h("div", { class: "chips", role: "radiogroup" });
  for (const w of page.windows) {
    wins.append(h("button", { type: "button", class: "chip", role: "radio", "data-testid": `win-${w.number}`,
      "aria-checked": String(w.number === win), onclick: (e) => {
        win = w.number;
        for (const b of wins.children) b.setAttribute("aria-checked", String(b === e.currentTarget));
      } }, checkMarks(), `${w.number}号`));
  }
  const posts = h("div", { class: "chips", role: "radiogroup" });
  for (const [v, label] of [[null, T.postDefault], ["A", T.postA], ["B", T.postB]]) {
    posts.append(h("button", { type: "button", class: "chip", role: "radio", "aria-checked": String(v === post),
      onclick: (e) => {
        post = v;
        for (const b of posts.children) b.setAttribute("aria-checked", String(b === e.currentTarget));
      } }, checkMarks(), label));
  }
  const err = h("div", { class: "note bad", hidden: true, role: "alert", "data-testid": "login-error" });
  const submit = button(T.login, { icon: "next", cls: "btn primary main", attrs: { "data-testid": "login" },
    onClick: () => doLogin() });
  let focused = staff;
  staff.addEventListener("focus", () => { focused = staff; });
  pin.addEventListener("focus", () => { focused = pin; });
  for (const inp of [staff, pin]) inp.addEventListener("keydown", (e) => { if (e.key === "Enter") doLogin(); });

  async function doLogin() {
    err.hidden = true;
    if (!staff.value.trim() || !pin.value || !win) {
      showProblem(err, T.needAll);
      return;
    }
    const body = { staff_id: staff.value.trim(), pin: pin.value, window: win };
    if (post) body.post = post;
    await submitSignIn({ submit, pin, err }, () => api.post("/api/session", body), (r) => { start(r.session); });
  }

  clear(stage, h("div", { class: "login" },
    h("div", { class: "card login-card" },
      h("h1", {}, icon("user"), T.loginTitle), h("p", { class: "muted", text: T.loginSub }),
      h("div", { class: "login-grid" },
        h("div", { class: "login-fields" },
          h("div", { class: "field" }, h("label", { text: T.staffId }), staff),
          h("div", { class: "field" }, h("label", { text: T.pin }), pin),
          h("div", { class: "field" }, h("label", { text: T.window }), wins),
          h("div", { class: "field" }, h("label", { text: T.post }), posts),
          err, submit),
        numericKeypad(() => focused)))));
  staff.focus();
}

// ------------------------------------------------------------------ console
const ACTIONS = [
  ["call", "F1", "call"], ["recall", "F2", "recall"], ["noshow", "F3", "noshow"], ["start", "F4", "start"],
  ["finish", "F5", "finish"], ["transfer", "F6", "transfer"], ["pause", "F7", "pause"], ["resume", "F8", "resume"],
  ["rate", "F9", "star"],
];
const buttons = {};
const currentBox = h("div", { class: "card current", "data-testid": "current" });
const waitingBox = h("div", { class: "card side-card" });
const figuresBox = h("div", { class: "card side-card" });
const statusLine = h("div", { class: "status-line", role: "status", "aria-live": "polite", "data-testid": "status" });
const caseBox = h("div", { class: "card case-panel", "data-testid": "case-panel" });
const cardBox = h("div", { class: "note info card-box", "data-testid": "card-box" });
const tools = queueTools({ page, run, say, getWindow: () => myWindow(), isBusy: () => state.busy });
// Slots other features fill from their own scripts (kept by draw()): more about the current ticket
// (e.g. the card holder's masked name), more action buttons, more lists in the side column.
const currentExtra = h("div", { class: "cur-extra", "data-slot": "current-extra" });
const pad = h("div", { class: "actions-grid", "data-slot": "actions", role: "group", "aria-label": T.actionsLabel });
const sideLists = h("div", { class: "side-lists", "data-slot": "side-lists" });
let caseDrawer = null;

function start(session) {
  state.session = session;
  state.window = session.window;
  state.servedHere = 0;
  clear(whoBox, icon("user"), h("span", { text: T.who(session.name, session.post, session.window) }),
    button(T.logout, { icon: "logout", cls: "btn toggle", onClick: () => doLogout(), attrs: { "data-testid": "logout" } }));
  clear(pad);
  for (const [key, fkey, ic] of ACTIONS) {
    const b = h("button", { type: "button", class: `btn action act-${key}`, "data-testid": `act-${key}`,
      "aria-keyshortcuts": fkey, onclick: () => act(key) },
    h("kbd", { text: fkey }), icon(ic), h("span", { class: "label", text: T.actions[key] }));
    buttons[key] = b;
    pad.append(b);
  }
  // Case registration is a drawer over the side column on a 1366×768 desk monitor (a third column
  // on wide screens), so opening it never moves the current number or the action buttons.
  const caseToggle = h("button", { type: "button", class: "btn case-toggle", "data-testid": "case-open",
    "aria-expanded": "false", "aria-controls": "case-drawer", onclick: () => setCaseOpen(!consoleBox.classList.contains("case-open")) },
  icon("case"), T.caseTitle);
  const caseClose = h("button", { type: "button", class: "btn toggle case-close", "data-testid": "case-close",
    "aria-label": T.caseClose, onclick: () => setCaseOpen(false) }, icon("back"), h("span", { text: T.caseClose }));
  caseDrawer = h("section", { class: "col col-case", id: "case-drawer", role: "region", "aria-label": T.caseTitle },
    caseClose, caseBox);
  const consoleBox = h("div", { class: "console" },
    h("section", { class: "col col-main", "aria-label": T.current }, currentBox, cardBox, pad,
      h("div", { class: "console-tools" }, caseToggle, h("p", { class: "muted hint", text: T.shortcutsHint }))),
    h("section", { class: "col col-side", "aria-label": T.waitingTitle, tabindex: "0" }, waitingBox, tools.box, sideLists, figuresBox),
    caseDrawer);
  function setCaseOpen(open) {
    consoleBox.classList.toggle("case-open", open);
    caseToggle.setAttribute("aria-expanded", String(open));
    if (open) {
      const first = caseBox.querySelector("input, select, textarea");
      if (first) first.focus();
    } else if (caseDrawer.contains(document.activeElement)) {
      caseToggle.focus();
    }
  }
  caseDrawer.addEventListener("keydown", (e) => { if (e.key === "Escape") setCaseOpen(false); });
  clear(stage, consoleBox);
  clear(footbar, statusLine);
  mountCasePanel(caseBox, { session, getCurrent: () => currentTicket(), toast, onChange: () => scheduleFigures() });
  mountCardBox(cardBox, { window: session.window, getCurrent: () => currentTicket(),
    onUse: (masked) => caseBox.dispatchEvent(new CustomEvent("card-prefill", { detail: masked })) });
  state.live = new LiveStream({
    kinds: ["ticket.called", "ticket.updated", "ticket.issued", "window.updated", "rating.closed"],
    onSnapshot: (snap) => { state.snap = snap; draw(); },
    onEvent: (kind, d) => {
      if (kind === "rating.closed") {
        // never the level: only whether the citizen rated
        if (d.window === state.window && T.ratingClosed[d.reason]) say(T.ratingClosed[d.reason], d.reason === "rated" ? "ok" : "bad");
        return;
      }
      if (!state.snap) return;
      if (d.waiting) for (const c of state.snap.categories) if (c.prefix in d.waiting) c.waiting = d.waiting[c.prefix];
      if (kind === "window.updated" && d.window) replaceWindow(d.window);
      if (kind === "ticket.called" && d.window === state.window) refreshWindow();
      if (kind === "ticket.updated" && d.ticket && d.ticket.window === state.window) refreshWindow();
      if (kind === "ticket.issued" || kind === "ticket.updated") scheduleFigures();
      draw();
    },
    onStatus: (s) => offline.show(s === "down"),
  }).start();
  refreshWindow();
  loadFigures();
}

function replaceWindow(w) {
  if (!state.snap) return;
  state.snap.windows = state.snap.windows.map((x) => (x.number === w.number ? w : x));
}

async function refreshWindow() {
  try {
    const r = await api.get(`/api/windows/${state.window}`);
    if (!state.snap) state.snap = await api.get("/api/queue");
    replaceWindow(r.window);
    draw();
  } catch { /* the stream will bring it */ }
}

function myWindow() {
  return state.snap ? state.snap.windows.find((w) => w.number === state.window) : null;
}

function currentTicket() {
  const w = myWindow();
  return w ? w.current : null;
}

function catName(p) {
  const c = page.categories.find((x) => x.prefix === p);
  return c ? c.name : p;
}

function hhmm(iso) {
  return iso ? iso.slice(11, 16) : "";
}

function draw() {
  const w = myWindow();
  if (!w) return;
  const cur = w.current;
  // current ticket
  const paused = w.paused ? h("div", { class: "note", "data-testid": "paused-note" }, icon("pause"), T.paused(w.pause_reason)) : null;
  if (cur) {
    const waited = cur.issued_at && cur.called_at
      ? Math.max(0, Math.round((Date.parse(cur.called_at) - Date.parse(cur.issued_at)) / 60000)) : null;
    clear(currentBox, paused,
      h("div", { class: "cur-head" },
        h("div", { class: "cur-label", text: T.current }),
        h("div", { class: "cur-number", "data-testid": "current-number", text: cur.number })),
      h("div", { class: "cur-info" },
        h("div", { class: "cur-cat", text: `${cur.category} ${catName(cur.category)}` }),
        h("div", { class: "row" },
          h("span", { class: `badge ${cur.state === "serving" ? "ok" : "warn"}`, "data-testid": "current-state" },
            icon(cur.state === "serving" ? "start" : "call"), cur.state === "serving" ? T.stateServing : T.stateCalled),
          cur.lane !== "normal" ? h("span", { class: "badge warn" }, icon("priority"), T.lane[cur.lane] || cur.lane) : null),
        h("div", { class: "muted" }, T.callCount(cur.call_count, page.recall_limit), "　",
          T.issuedAt(hhmm(cur.issued_at)), waited !== null ? `　${T.waited(waited)}` : ""),
        currentExtra));
  } else {
    clear(currentBox, paused,
      h("div", { class: "cur-head" }, h("div", { class: "cur-label", text: T.current }),
        h("div", { class: "cur-none", "data-testid": "current-number", text: T.none })),
      h("div", { class: "cur-info" }, h("div", { class: "muted", text: T.noneHint }), currentExtra));
  }
  // which actions make sense now
  const called = cur && cur.state === "called";
  const serving = cur && cur.state === "serving";
  const enable = {
    call: !w.paused && !called,
    recall: !w.paused && called && cur.call_count < page.recall_limit,
    noshow: called,
    start: called,
    finish: called || serving,
    transfer: called || serving,
    pause: !w.paused && !called,
    resume: w.paused,
    rate: serving || (!cur && state.lastFinished),
  };
  for (const [k, b] of Object.entries(buttons)) b.disabled = state.busy || !enable[k];
  // waiting for this window's categories
  const cats = state.snap.categories.filter((c) => w.categories.includes(c.prefix));
  clear(waitingBox, h("h2", {}, icon("people"), T.waitingTitle),
    h("ul", { class: "wait-list", "data-testid": "waiting" }, cats.map((c) => h("li", {},
      h("span", { class: "w-prefix", text: c.prefix }), h("span", { class: "w-name", text: c.name }),
      h("span", { class: "w-count", text: T.waitingRow(c.waiting || 0, c.wait_minutes || 0) })))));
  tools.draw(w);
  drawFigures(w);
}

let figTimer = null;
function scheduleFigures() {
  clearTimeout(figTimer);
  figTimer = setTimeout(loadFigures, 1500);
}

async function loadFigures() {
  try {
    state.figures = await api.get("/api/queue/figures");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { showLogin(); return; }
  }
  // the clerk's own day: cases accepted and ratings received (shown only once final)
  const t = hallTime();
  const today = `${t.year}-${String(t.month).padStart(2, "0")}-${String(t.day).padStart(2, "0")}`;
  const [cases, ratings] = await Promise.allSettled([getOptional("/api/cases?limit=200"),
    getOptional("/api/ratings/mine")]);
  const mine = {};
  if (cases.status === "fulfilled" && cases.value) {
    mine.cases = cases.value.cases.filter((c) => (c.accepted_at || "").startsWith(today)).length;
  }
  if (ratings.status === "fulfilled" && ratings.value) {
    const list = ratings.value.ratings.filter((r) => (r.rated_at || "").startsWith(today));
    mine.rated = list.length;
    mine.good = list.filter((r) => r.level === "非常满意" || r.level === "满意").length;
    mine.bad = list.filter((r) => r.bad).length;
    mine.delay = ratings.value.delay_minutes;
  }
  state.mine = mine;
  const w = myWindow();
  if (w) drawFigures(w);
}

function drawFigures(w) {
  const f = state.figures;
  const rows = f ? w.categories.map((p) => [p, f.categories[p]]).filter(([, x]) => x) : [];
  clear(figuresBox, h("h2", {}, icon("list"), T.figuresTitle),
    h("table", { class: "fig-table", "data-testid": "figures" },
      h("thead", {}, h("tr", {}, h("th", { text: "" }), h("th", { text: T.figIssued }), h("th", { text: T.figServed }),
        h("th", { text: T.figNoShow }), h("th", { text: T.figWait }), h("th", { text: T.figService }))),
      h("tbody", {}, rows.map(([p, x]) => h("tr", {}, h("td", { class: "w-prefix-cell", text: p }),
        h("td", { text: String(x.issued) }), h("td", { text: String(x.served) }), h("td", { text: String(x.no_show) }),
        h("td", { text: T.minutes(x.mean_wait_seconds) }), h("td", { text: T.minutes(x.mean_service_seconds) }))))),
    h("div", { class: "mine", "data-testid": "mine" }, h("h3", {}, icon("user"), T.mineTitle),
      h("div", { text: T.mineServed(state.servedHere) }),
      state.mine && state.mine.cases !== undefined ? h("div", { text: T.mineCases(state.mine.cases) }) : null,
      state.mine && state.mine.rated !== undefined
        ? h("div", { text: T.mineRatings(state.mine.rated, state.mine.good, state.mine.bad, state.mine.delay) }) : null));
}

// ------------------------------------------------------------------ actions
async function act(key) {
  const b = buttons[key];
  if (!b || b.disabled || state.busy) return;
  if (key === "transfer") return chooseTransfer();
  if (key === "pause") return tools.choosePause();
  if (key === "rate") return ratePrompt();
  const path = { call: "call", recall: "recall", noshow: "no-show", start: "start", finish: "finish", resume: "resume" }[key];
  const before = currentTicket();
  await run(async () => {
    const r = await api.post(`/api/windows/${state.window}/${path}`, {});
    const t = r.ticket;
    if (key === "finish") { state.servedHere += 1; state.lastFinished = t; }
    if (key === "call") {
      // calling next finishes the ticket being served
      if (before && before.state === "serving") state.servedHere += 1;
      state.lastFinished = null;
    }
    say(key === "resume" ? T.done.resume : T.done[key](t ? t.number : ""), "ok");
  });
}

async function run(fn) {
  state.busy = true;
  draw();
  try {
    await fn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { toast(err.message, "bad"); showLogin(); return; }
    say(err.message || C.serverError, "bad");
  } finally {
    state.busy = false;
    await refreshWindow();
    draw();
    scheduleFigures();
  }
}

function say(text, kind) {
  clear(statusLine, icon(kind === "bad" ? "alert" : "check"), h("span", { text }));
  statusLine.className = `status-line ${kind}`;
}

function chooseTransfer() {
  const cur = currentTicket();
  if (!cur) return;
  const grid = h("div", { class: "choice-grid" });
  const dlg = modal({ title: T.transferTitle, testid: "transfer-dialog",
    body: [h("p", { class: "muted", text: T.transferHint }), grid],
    actions: [{ label: C.cancel, cls: "btn" }] });
  for (const c of page.categories.filter((x) => x.prefix !== cur.category)) {
    grid.append(h("button", { type: "button", class: "btn", "data-testid": `transfer-${c.prefix}`, onclick: () => {
      dlg.close();
      run(async () => {
        await api.post(`/api/windows/${state.window}/transfer`, { category: c.prefix });
        say(T.done.transfer(cur.number, `${c.prefix} ${c.name}`), "ok");
      });
    } }, h("strong", { text: c.prefix }), c.name));
  }
}

async function ratePrompt() {
  await run(async () => {
    try {
      await api.post(`/api/windows/${state.window}/rate-prompt`, {});
    } catch (err) {
      if (err instanceof ApiError && err.missing) { say(T.rateUnavailable, "bad"); return; }
      throw err;
    }
    say(T.done.rate, "ok");
  });
}

async function doLogout() {
  modal({ title: T.logout, body: [h("p", { text: T.logoutConfirm })], actions: [
    { label: C.cancel, cls: "btn" },
    { label: T.logout, cls: "btn primary", testid: "logout-confirm", onClick: async () => {
      try { await api.del("/api/session"); } catch { /* signed out locally anyway */ }
      showLogin();
    } },
  ] });
}

// F1–F9 work everywhere on the page, also inside inputs (they type nothing there).
document.addEventListener("keydown", (e) => {
  if (!state.session || !/^F[1-9]$/.test(e.key) || e.altKey || e.ctrlKey || e.metaKey) return;
  if (document.querySelector(".modal-back")) return;
  e.preventDefault();
  const entry = ACTIONS.find(([, f]) => f === e.key);
  if (!entry) return;
  // A key pressed while the previous action's request is in flight is not queued (the next state is
  // not known yet, so a queued 叫号 could call a second citizen): the clerk is told it was not done.
  if (state.busy) toast(T.busyKey(entry[1], T.actions[entry[0]]), "warn", 5000);
  else act(entry[0]);
});
// Browsers open help on F1 even after keydown.preventDefault in some builds; stop that too.
window.addEventListener("help", (e) => e.preventDefault());

// ------------------------------------------------------------------ start
(async () => {
  let s = null;
  try {
    const r = await getOptional("/api/session");
    s = r ? r.session : null;
  } catch { s = null; }
  if (s && s.role === "clerk" && s.window) start(s); else showLogin();
})();

window.hallClerk = { state, slots: { actions: pad, currentExtra, sideLists }, act, refreshWindow };
