// The village agent's page (/agent): register 代办 for villagers on a phone or the village PC,
// follow them through the township, keep the village's duty roster.
//
// Nothing typed or photographed is lost when the link to the township drops: the form is saved
// on the device as it is filled (agent_drafts.js) and sent when the link is back, with a key made
// here so that sending twice never registers twice. Personal data typed here goes to the server
// once; every list and detail shows only what the API returns (masked).
//
// This file is the shell (sign-in, tabs, the drafts' sender); each tab is its own file:
// agent_form.js, agent_ledger.js, agent_roster.js, agent_outbox.js; the catalog cache:
// agent_catalog.js; what they all share: agent_page.js.
import T from "../i18n/agent.js";
import C from "../i18n/common.js";
import { prefetchItems } from "./agent_catalog.js";
import { DraftSender } from "./agent_drafts.js";
import { drawForm } from "./agent_form.js";
import { drawLedger } from "./agent_ledger.js";
import { drawDrafts } from "./agent_outbox.js";
import {
  call, content, drawStatus, footbar, head, nav, ownDrafts, page, screen, setOnline, stage, state, statusBar, store,
} from "./agent_page.js";
import { drawRoster } from "./agent_roster.js";
import { ApiError, api } from "./api.js";
import { icon } from "./icons.js";
import { button, clear, h, masthead, modal, showProblem, submitSignIn, toast } from "./ui.js";

screen.showLogin = showLogin;
screen.show = show;

function showLogin() {
  if (state.sender) state.sender.stop();
  state.session = null;
  document.body.classList.remove("signed-in");
  clear(footbar);
  clear(statusBar);
  const login = h("input", { type: "text", autocomplete: "username", maxlength: 32, autocapitalize: "off",
    "data-testid": "agent-login", "aria-label": T.login });
  const pin = h("input", { type: "password", inputmode: "numeric", autocomplete: "current-password", maxlength: 32,
    "data-testid": "agent-pin", "aria-label": T.pin });
  const err = h("div", { class: "note bad", hidden: true, role: "alert", "data-testid": "agent-login-error" });
  const submit = button(T.signIn, { icon: "next", cls: "btn primary main", attrs: { "data-testid": "agent-signin" },
    onClick: () => go() });
  for (const inp of [login, pin]) inp.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  async function go() {
    err.hidden = true;
    if (!login.value.trim() || !pin.value) {
      showProblem(err, T.needAll);
      return;
    }
    await submitSignIn({ submit, pin, err },
      () => call(() => api.post("/api/village/session", { login: login.value.trim(), pin: pin.value })),
      (r) => start(r.session));
  }
  clear(stage, h("div", { class: "agent-login" },
    h("div", { class: "card" },
      h("h1", {}, icon("user"), T.loginTitle), h("p", { class: "muted", text: T.loginSub }),
      h("div", { class: "field" }, h("label", { text: T.login }), login),
      h("div", { class: "field" }, h("label", { text: T.pin }), pin),
      err, submit)));
  login.focus();
}


async function start(session) {
  state.session = session;
  document.body.classList.add("signed-in");
  try {
    state.me = await call(() => api.get("/api/village/me"));
  } catch (err) {
    state.me = null;
    toast(err.message, "bad");
  }
  const sub = state.me ? `${state.me.village.station_name} · ${session.name}` : `${T.subtitle} · ${session.name}`;
  masthead(head, { hall: page.hall, subtitle: sub });
  head.append(button(T.logout, { icon: "logout", cls: "btn toggle logout", attrs: { "data-testid": "agent-logout" },
    onClick: () => logout() }));
  clear(stage, h("div", { class: "agent-shell" }, statusBar, content));
  clear(footbar, nav);
  drawNav();
  state.sender = new DraftSender(store, { owner: session.staff_id, onChange: onDraftChange }).start();
  prefetchItems();
  const editing = (await ownDrafts()).filter((d) => d.status === "editing");
  state.draft = editing.length ? editing[editing.length - 1] : null;
  show(state.tab);
}

async function logout() {
  const pending = (await ownDrafts()).filter((d) => d.status !== "editing").length;
  const done = async () => {
    try { await api.del("/api/session"); } catch { /* signed out locally anyway */ }
    showLogin();
  };
  if (!pending) return done();
  modal({ title: T.logout, body: [h("p", { text: T.logoutDraftsWarn(pending) })], testid: "logout-confirm",
    actions: [{ label: C.cancel }, { label: T.logout, cls: "btn primary", onClick: done }] });
}

function drawNav() {
  const tabs = [["form", "case"], ["ledger", "list"], ["roster", "people"], ["drafts", "clock"]];
  clear(nav, tabs.map(([key, ic]) => h("button", {
    type: "button", class: "agent-tab", role: "tab", "aria-selected": String(state.tab === key),
    "data-testid": `tab-${key}`, onclick: () => show(key),
  }, icon(ic), h("span", { class: "label", text: T.tabs[key] }),
  key === "drafts" ? h("span", { class: "count", "data-testid": "draft-count", hidden: true }) : null)));
  drawStatus();
}

function show(tab) {
  state.tab = tab;
  for (const b of nav.children) b.setAttribute("aria-selected", String(b.dataset.testid === `tab-${tab}`));
  for (const u of state.urls) URL.revokeObjectURL(u);
  state.urls = [];
  if (tab === "form") drawForm();
  else if (tab === "ledger") drawLedger();
  else if (tab === "roster") drawRoster();
  else drawDrafts();
}

function onDraftChange(d, outcome, err) {
  drawStatus();
  if (outcome === "sent" && d.body) toast(T.submitted(d.ref_no || ""), "ok", 5000);
  if (outcome === "error") toast(`${T.draftState.error}：${err ? err.message : ""}`, "bad", 8000);
  if (outcome === "queued" && err && err.status === 0) setOnline(false);
  if (outcome === "sent" && !state.online) setOnline(true);
  if (state.tab === "drafts") drawDrafts();
  if (state.tab === "ledger" && outcome === "sent") drawLedger();
}

// ------------------------------------------------------------------ go
(async () => {
  await store.open();
  try {
    const r = await api.get("/api/session");
    if (r.session && r.session.role === "agent") return start(r.session);
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) setOnline(false);
  }
  showLogin();
})();
