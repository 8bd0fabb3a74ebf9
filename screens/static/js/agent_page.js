// What every part of the village agent's page shares: the frame, the drafts kept on the device,
// the page's state, the offline banner, API calls that notice whether the township answered, and
// the status line under the masthead. The shell (agent.js) plugs sign-in and tab switching into `screen`.
import T from "../i18n/agent.js";
import { DraftStore } from "./agent_drafts.js";
import { ApiError } from "./api.js";
import { icon } from "./icons.js";
import { clear, h, masthead, pageData, toast } from "./ui.js";

export const page = pageData();
export const head = document.getElementById("masthead");
export const banners = document.getElementById("banners");
export const stage = document.getElementById("stage");
export const footbar = document.getElementById("footbar");
masthead(head, { hall: page.hall, subtitle: T.subtitle });

/** Where the page's shell (agent.js) plugs in the sign-in and the tabs, so the parts can reach them. */
export const screen = { showLogin: () => {}, show: () => {} };

export const store = new DraftStore();
export const state = {
  session: null, me: null, tab: "form", draft: null, sender: null, online: navigator.onLine,
  filter: { state: "", overdue: false }, selected: null, urls: [],
};

// ------------------------------------------------------------------ connectivity
const netBanner = h("div", { class: "banner offline", hidden: true, role: "status", "data-testid": "agent-offline" },
  icon("wifiOff"), h("span", { text: T.offline }));
banners.append(netBanner);

export function setOnline(on) {
  state.online = on;
  netBanner.hidden = on;
  document.documentElement.classList.toggle("is-offline", !on);
  drawStatus();
}
window.addEventListener("offline", () => setOnline(false));
window.addEventListener("online", () => setOnline(true));

/** An API call that also tells the page whether the township answered. */
export async function call(fn) {
  try {
    const r = await fn();
    if (!state.online) setOnline(true);
    return r;
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) setOnline(false);
    if (err instanceof ApiError && err.status === 401 && state.session) {
      toast(T.loginExpired, "bad", 6000);
      screen.showLogin();
    }
    throw err;
  }
}


export const statusBar = h("div", { class: "agent-status", "data-testid": "agent-status" });
export const nav = h("nav", { class: "agent-tabs", role: "tablist" });
export const content = h("div", { class: "agent-content" });

export async function ownDrafts() {
  if (!state.session) return [];
  return (await store.all()).filter((d) => d.owner === state.session.staff_id);
}

export async function drawStatus() {
  if (!state.session) return;
  const waiting = (await ownDrafts()).filter((d) => d.status !== "editing");
  const counter = nav.querySelector("[data-testid=draft-count]");
  if (counter) {
    counter.textContent = String(waiting.length);
    counter.hidden = waiting.length === 0;
  }
  const duty = state.me && state.me.on_duty ? T.dutyToday(state.me.on_duty.name) : T.dutyNone;
  clear(statusBar,
    h("span", { class: `pill ${state.online ? "ok" : "bad"}`, "data-testid": "net-state" },
      icon(state.online ? "check" : "wifiOff"), state.online ? T.online : T.offline.split("：")[0]),
    waiting.length ? h("span", { class: "pill warn", "data-testid": "pending-pill" }, icon("clock"),
      T.pendingCount(waiting.length)) : null,
    h("span", { class: "duty muted" }, icon("user"), duty));
}

export function blobUrl(blob) {
  const u = URL.createObjectURL(blob);
  state.urls.push(u);
  return u;
}
