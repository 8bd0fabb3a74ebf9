// The TV board (/board): readable from ten metres, newest call the largest.
// Each new call flashes and is announced (chime + zh-CN speech) in order; after
// a network blip the stream replays what was missed or sends a fresh snapshot.
import C from "../i18n/common.js";
import T from "../i18n/board.js";
import { getOptional } from "./api.js";
import { icon } from "./icons.js";
import { LiveStream } from "./live.js";
import { broadcastBanner } from "./hall_broadcast.js";
import { targetMark, watchTargets } from "./board_targets.js";
import { SpeechQueue, callSpeech, soundBlocked, unlockSound } from "./speech.js";
import { clear, h, masthead, offlineBanner, pageData, watchHealth } from "./ui.js";

const page = pageData();
const settings = page.settings || {};
const stage = document.getElementById("stage");
const banners = document.getElementById("banners");
const footbar = document.getElementById("footbar");

masthead(document.getElementById("masthead"), { hall: page.hall, subtitle: T.subtitle });
watchHealth(banners);
const offline = offlineBanner(banners);
const broadcast = broadcastBanner(banners, "board");

const state = { windows: [], categories: [], recent: [], hero: null };
const speech = new SpeechQueue({ rate: 0.85 });
const spoken = [];   // what the board asked to say, in order (diagnosis and tests)

// ------------------------------------------------------------------ layout
const heroNumber = h("div", { class: "hero-number", "data-testid": "hero-number" });
const heroWindow = h("div", { class: "hero-window", "data-testid": "hero-window" });
const heroCat = h("div", { class: "hero-cat" });
const heroLabel = h("span", { text: T.nowCalling });
const hero = h("section", { class: "hero", "data-testid": "hero" },
  h("div", { class: "hero-label" }, icon("call"), heroLabel), heroNumber, heroWindow, heroCat);
const windowsGrid = h("div", { class: "win-grid", "data-testid": "windows" });
const recentList = h("ol", { class: "recent", "data-testid": "recent" });
const waitingList = h("ul", { class: "waiting", "data-testid": "waiting" });
// The side column gives the waiting counts all the room they need; the call history takes what is left.
const recentPanel = h("section", { class: "panel panel-recent" }, h("h2", {}, icon("recall"), T.recent), recentList);
clear(stage, h("div", { class: "board" },
  h("div", { class: "board-main" }, hero, windowsGrid),
  h("aside", { class: "board-side" },
    recentPanel,
    h("section", { class: "panel panel-waiting" }, h("h2", {}, icon("people"), T.waiting), waitingList))));

const ticker = h("div", { class: "ticker-track", "data-testid": "ticker" });
footbar.append(h("div", { class: "ticker" }, icon("info"), h("div", { class: "ticker-window", "data-marquee": "" }, ticker)));
const soundHint = h("button", { type: "button", class: "sound-hint", hidden: true, text: C.soundBlocked,
  onclick: () => { unlockSound(); soundHint.hidden = true; } });
document.body.append(soundHint);
document.addEventListener("pointerdown", () => { unlockSound(); soundHint.hidden = true; });

// ------------------------------------------------------------------ drawing
function catName(prefix) {
  const c = page.categories.find((x) => x.prefix === prefix);
  return c ? c.name : "";
}

const ACTIVE = new Set(["called", "serving"]);

// Whether the call in the big panel still stands: its window still has that number called or
// in service and is not paused. Otherwise why it ended ("done", "transferred", "paused"…).
function heroEnded(c) {
  const w = state.windows.find((x) => x.number === c.window);
  if (!w) return null;
  if (w.paused) return "paused";
  const cur = w.current;
  if (cur && cur.number === c.number && ACTIVE.has(cur.state)) return null;
  return c.ended || "done";
}

function drawHero(flash = false) {
  const c = state.hero;
  const ended = c ? heroEnded(c) : null;
  hero.classList.toggle("ended", !!ended);
  hero.dataset.state = !c ? "idle" : ended ? "ended" : "calling";
  heroLabel.textContent = ended ? T.lastCall : T.nowCalling;
  if (!c) {
    heroNumber.textContent = "";
    clear(heroWindow, h("span", { class: "hero-idle", text: T.noCall }));
    heroCat.textContent = "";
  } else if (ended) {
    heroNumber.textContent = c.number;
    clear(heroWindow, h("span", { class: "hero-ended", "data-testid": "hero-ended",
      text: T.callEnded(c.window, T.endedReason[ended] || T.endedReason.done) }));
    heroCat.textContent = c.category_name || catName(c.number.slice(0, 1));
  } else {
    heroNumber.textContent = c.number;
    clear(heroWindow, c.resumed ? T.pleaseReturn(c.window) : T.pleaseGo(c.window),
      c.recall ? h("span", { class: "tag", text: T.recall }) : null);
    heroCat.textContent = c.category_name || catName(c.number.slice(0, 1));
  }
  if (flash) {
    hero.classList.remove("flash");
    void hero.offsetWidth;   // restart the animation
    hero.classList.add("flash");
  }
}

function drawWindows(flashWindow = null) {
  windowsGrid.style.setProperty("--cols", String(state.windows.length > 6 ? 4 : 3));
  clear(windowsGrid, state.windows.map((w) => {
    const cur = w.current;
    let body;
    let cls = "win";
    if (w.paused) {
      cls += " paused";
      body = h("div", { class: "win-state" }, icon("pause"), T.paused, h("span", { class: "reason",
        text: T.pausedReason(w.pause_reason) }));
    } else if (cur && (cur.state === "called" || cur.state === "serving")) {
      body = h("div", { class: "win-number", text: cur.number });
    } else if (!w.clerk_id) {
      cls += " empty";
      body = h("div", { class: "win-state", text: T.empty });
    } else {
      body = h("div", { class: "win-state", text: T.idle });
    }
    if (flashWindow === w.number) cls += " flash";
    // tickets parked (挂起) here: the citizen comes back to this window
    const parked = w.parked && w.parked.length
      ? h("div", { class: "reason", "data-testid": `parked-${w.number}`, text: T.parked(w.parked.map((p) => p.number)) }) : null;
    return h("div", { class: cls, "data-window": String(w.number), "data-testid": `window-${w.number}` },
      h("div", { class: "win-no", text: T.windowNo(w.number) }), body, parked);
  }));
}

function drawRecent() {
  const items = state.recent.slice(0, 10);
  clear(recentList, items.length ? items.map((r, i) => h("li", { class: i === 0 ? "newest" : "" },
    h("span", { class: "r-number", text: r.number }), h("span", { class: "r-arrow", text: "→" }),
    h("span", { class: "r-window", text: T.windowNo(r.window) }),
    r.recall ? h("span", { class: "tag", text: T.recall }) : null))
    : h("li", { class: "none", text: T.noRecent }));
  // the history yields: drop the oldest calls until the list fits what the counts left over
  while (recentList.children.length > 1 && recentPanel.scrollHeight > recentPanel.clientHeight + 1) {
    recentList.lastElementChild.remove();
  }
}

function drawWaiting() {
  clear(waitingList, state.categories.map((c) => h("li", {},
    h("span", { class: "w-prefix", text: c.prefix }), h("span", { class: "w-name", text: c.name }),
    h("span", { class: "w-count", "data-testid": `waiting-${c.prefix}`, text: T.people(c.waiting || 0) }),
    targetMark(c.prefix))));
}

function drawAll() {
  drawHero();
  drawWindows();
  drawRecent();
  drawWaiting();
}

function setTicker(lines) {
  const text = lines.join(T.noticeSep);
  // two copies side by side so the loop is seamless
  clear(ticker, h("span", { text: text + T.noticeSep }), h("span", { text: text + T.noticeSep, "aria-hidden": "true" }));
  ticker.style.animationDuration = `${Math.max(30, text.length * 0.45)}s`;
}

// ------------------------------------------------------------------ live updates
function applyWaiting(waiting) {
  if (!waiting) return;
  for (const c of state.categories) if (c.prefix in waiting) c.waiting = waiting[c.prefix];
  drawWaiting();
}

function onSnapshot(snap) {
  state.windows = snap.windows || [];
  state.categories = snap.categories || [];
  state.recent = (snap.recent_calls || []).map((r) => ({ ...r }));
  const last = state.recent[0];
  state.hero = last ? { number: last.number, window: last.window, recall: last.recall, resumed: last.resumed } : null;
  drawAll();
}

function onCalled(d) {
  const call = { number: d.number, window: d.window, recall: !!d.recall, resumed: !!d.resumed,
    category_name: d.category_name };
  state.hero = call;
  state.recent.unshift({ number: d.number, window: d.window, recall: !!d.recall, at: d.ticket && d.ticket.called_at });
  state.recent = state.recent.slice(0, 10);
  state.windows = state.windows.map((w) => (w.number === d.window ? { ...w, current: d.ticket,
    parked: (w.parked || []).filter((p) => p.id !== d.ticket.id) } : w));
  applyWaiting(d.waiting);
  drawHero(true);
  drawWindows(d.window);
  drawRecent();
  const words = callSpeech(d.text, d.number);
  spoken.push(words);
  if (soundBlocked()) soundHint.hidden = false;
  speech.enqueue(words, { chime: settings.chime !== false });
}

function onUpdated(d) {
  const t = d.ticket;
  if (t) {
    // a transfer publishes the new (waiting) ticket with the id it replaced
    const ids = new Set([t.id, d.transferred_from].filter((x) => x !== undefined && x !== null));
    state.windows = state.windows.map((w) => {
      if (!w.current || !ids.has(w.current.id)) return w;
      return { ...w, current: ACTIVE.has(t.state) && t.id === w.current.id ? t : null };
    });
    const c = state.hero;
    if (c && c.number === t.number && c.window === d.window && !ACTIVE.has(t.state)) {
      c.ended = d.transferred_from ? "transferred" : d.requeued ? "requeued" : t.state;
    }
    drawWindows();
    drawHero();
  }
  applyWaiting(d.waiting);
}

const live = new LiveStream({
  kinds: ["ticket.called", "ticket.updated", "ticket.issued", "window.updated", "notices.changed"],
  onSnapshot,
  onEvent: (kind, d) => {
    if (kind === "ticket.called") onCalled(d);
    else if (kind === "ticket.updated") onUpdated(d);
    else if (kind === "ticket.issued") applyWaiting(d.waiting);
    else if (kind === "notices.changed") showNotices(d.active || []);
    else if (kind === "window.updated" && d.window) {
      state.windows = state.windows.map((w) => (w.number === d.window.number ? d.window : w));
      drawWindows();
      drawHero();
    }
  },
  onStatus: (s) => offline.show(s === "down"),
}).start();

// Notices the manager publishes scroll along the bottom, then the hall's standing reminders.
function showNotices(list) {
  setTicker([...list.map((n) => n.title).filter(Boolean), ...T.notice]);
}

async function loadNotices() {
  try {
    const data = await getOptional("/api/notices");
    if (data) showNotices(data.notices || []);
  } catch { /* keep what scrolls now */ }
}
setTicker(T.notice);
loadNotices();
setInterval(loadNotices, 5 * 60 * 1000);
drawAll();
watchTargets(drawWaiting);
// banners, target marks or a window resize change the room the history has: fit it again
new ResizeObserver(() => drawRecent()).observe(recentPanel);

window.hallBoard = { state, spoken, speech, live, broadcast };
