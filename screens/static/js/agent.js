// The village agent's page (/agent): register 代办 for villagers on a phone or the village PC,
// follow them through the township, keep the village's duty roster.
//
// Nothing typed or photographed is lost when the link to the township drops: the form is saved
// on the device as it is filled (agent_drafts.js) and sent when the link is back, with a key made
// here so that sending twice never registers twice. Personal data typed here goes to the server
// once; every list and detail shows only what the API returns (masked).
import T from "../i18n/agent.js";
import C from "../i18n/common.js";
import { ApiError, api, qs, request } from "./api.js";
import { DraftSender, DraftStore, newKey, shrinkPhoto } from "./agent_drafts.js";
import { checkMarks, icon } from "./icons.js";
import { button, clear, h, masthead, modal, pageData, toast } from "./ui.js";

const page = pageData();
const head = document.getElementById("masthead");
const banners = document.getElementById("banners");
const stage = document.getElementById("stage");
const footbar = document.getElementById("footbar");
masthead(head, { hall: page.hall, subtitle: T.subtitle });

const EDITABLE = new Set(["登记", "材料齐全", "退回补正"]);
const ITEMS_CACHE = "hall-agent-items";
const GUIDE_CACHE = "hall-agent-guide:";
const WIDE = window.matchMedia("(min-width: 900px)");

/** A camera (the shared icon set has none). */
function camera() {
  const tpl = document.createElement("template");
  tpl.innerHTML = `<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.9"
    stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
    <path d="M3 8.5A1.5 1.5 0 0 1 4.5 7h3l1.6-2.2h5.8L16.5 7h3A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z"/>
    <circle cx="12" cy="12.8" r="3.6"/></svg>`;
  return tpl.content.firstElementChild;
}

const store = new DraftStore();
const state = {
  session: null, me: null, tab: "form", draft: null, sender: null, online: navigator.onLine,
  filter: { state: "", overdue: false }, selected: null, urls: [],
};

// ------------------------------------------------------------------ connectivity
const netBanner = h("div", { class: "banner offline", hidden: true, role: "status", "data-testid": "agent-offline" },
  icon("wifiOff"), h("span", { text: T.offline }));
banners.append(netBanner);

function setOnline(on) {
  state.online = on;
  netBanner.hidden = on;
  document.documentElement.classList.toggle("is-offline", !on);
  drawStatus();
}
window.addEventListener("offline", () => setOnline(false));
window.addEventListener("online", () => setOnline(true));

/** An API call that also tells the page whether the township answered. */
async function call(fn) {
  try {
    const r = await fn();
    if (!state.online) setOnline(true);
    return r;
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) setOnline(false);
    if (err instanceof ApiError && err.status === 401 && state.session) {
      toast(T.loginExpired, "bad", 6000);
      showLogin();
    }
    throw err;
  }
}

// ------------------------------------------------------------------ sign-in
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
      clear(err, icon("alert"), T.needAll);
      err.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const r = await call(() => api.post("/api/village/session", { login: login.value.trim(), pin: pin.value }));
      pin.value = "";
      await start(r.session);
    } catch (e) {
      pin.value = "";
      clear(err, icon("alert"), e.message);
      err.hidden = false;
    } finally {
      submit.disabled = false;
    }
  }
  clear(stage, h("div", { class: "agent-login" },
    h("div", { class: "card" },
      h("h1", {}, icon("user"), T.loginTitle), h("p", { class: "muted", text: T.loginSub }),
      h("div", { class: "field" }, h("label", { text: T.login }), login),
      h("div", { class: "field" }, h("label", { text: T.pin }), pin),
      err, submit)));
  login.focus();
}

// ------------------------------------------------------------------ the shell
const statusBar = h("div", { class: "agent-status", "data-testid": "agent-status" });
const nav = h("nav", { class: "agent-tabs", role: "tablist" });
const content = h("div", { class: "agent-content" });

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

async function ownDrafts() {
  if (!state.session) return [];
  return (await store.all()).filter((d) => d.owner === state.session.staff_id);
}

async function drawStatus() {
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

function blobUrl(blob) {
  const u = URL.createObjectURL(blob);
  state.urls.push(u);
  return u;
}

// ------------------------------------------------------------------ the catalog (cached for offline use)
async function prefetchItems() {
  try {
    const r = await api.get(`/api/catalog/items${qs({ limit: 200 })}`);
    localStorage.setItem(ITEMS_CACHE, JSON.stringify(r.items.map((i) => ({ impl_code: i.impl_code, name: i.name,
      short_name: i.short_name, department: i.department, case_kind_name: i.case_kind_name }))));
  } catch { /* offline: keep the last list */ }
}

function cachedItems() {
  try { return JSON.parse(localStorage.getItem(ITEMS_CACHE) || "[]"); } catch { return []; }
}

async function searchItems(q) {
  try {
    const r = await call(() => api.get(`/api/catalog/items${qs({ q, limit: 12 })}`, { timeout: 6000 }));
    return r.items;
  } catch {
    return cachedItems().filter((i) => i.name.includes(q) || (i.short_name || "").includes(q)).slice(0, 12);
  }
}

async function guide(code) {
  try {
    const g = await call(() => api.get(`/api/catalog/items/${encodeURIComponent(code)}`, { timeout: 8000 }));
    const slim = { impl_code: g.impl_code, name: g.name, village_level: String(g.exercise_level) === "6",
      materials: g.materials.map((m) => ({ name: m.name, required: m.required, originals: m.originals, copies: m.copies })) };
    try { localStorage.setItem(GUIDE_CACHE + code, JSON.stringify(slim)); } catch { /* full: fine */ }
    return slim;
  } catch {
    const raw = localStorage.getItem(GUIDE_CACHE + code);
    return raw ? JSON.parse(raw) : null;
  }
}

// ------------------------------------------------------------------ the registration form
function blankDraft() {
  return { key: newKey("v"), owner: state.session.staff_id, status: "editing", created_at: new Date().toISOString(),
    item: null, kind: "代办到乡镇", group: null, applicant: { name: "", cert_type: "111", cert_no: "", phone: "" },
    done: [], note: "", photos: [], record_id: null, body: null };
}

const ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idValid(n) {
  if (!/^\d{17}[\dX]$/.test(n)) return false;
  const s = ID_W.reduce((acc, w, i) => acc + w * Number(n[i]), 0);
  return "10X98765432"[s % 11] === n[17];
}

let saveTimer = null;
function autosave() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(async () => {
    if (state.draft) {
      await store.put(state.draft);
      drawStatus();
    }
  }, 300);
}

function drawForm() {
  if (!state.draft) state.draft = blankDraft();
  const d = state.draft;
  const box = h("section", { class: "agent-form card", "data-testid": "agent-form" });

  // item
  const itemInput = h("input", { type: "search", maxlength: 40, placeholder: T.itemSearch, autocomplete: "off",
    "data-testid": "item-search", "aria-label": T.item });
  const suggest = h("div", { class: "suggest-list", hidden: true, "data-testid": "item-suggest" });
  let seq = 0;
  itemInput.addEventListener("input", async () => {
    const q = itemInput.value.trim();
    const mine = ++seq;
    if (!q) { suggest.hidden = true; return; }
    const items = await searchItems(q);
    if (mine !== seq) return;
    clear(suggest, items.length ? items.map((it) => h("button", { type: "button", "data-testid": "item-option",
      onclick: () => chooseItem(it) }, h("strong", { text: it.name }), h("span", { class: "muted", text: it.department || "" })))
      : h("div", { class: "muted empty-line", text: T.noItems }));
    suggest.hidden = false;
  });
  async function chooseItem(it) {
    suggest.hidden = true;
    itemInput.value = "";
    const g = await guide(it.impl_code);
    d.item = g || { impl_code: it.impl_code, name: it.name, village_level: false, materials: [] };
    d.done = [];
    if (d.kind === "在村办结" && !d.item.village_level) d.kind = "代办到乡镇";
    await store.put(d);
    drawForm();
  }
  const itemField = d.item
    ? h("div", { class: "chosen-item", "data-testid": "item-chosen" }, icon("check"), h("strong", { text: d.item.name }),
      button(T.itemChange, { cls: "btn toggle", onClick: async () => { d.item = null; d.done = []; await store.put(d); drawForm(); } }))
    : h("div", {}, itemInput, suggest, state.online ? null : h("p", { class: "muted small", text: T.itemOfflineHint }));

  // materials checklist with photos
  const mats = h("div", { class: "materials", "data-testid": "materials" });
  if (!d.item) mats.append(h("p", { class: "muted", text: T.materialsNone }));
  else {
    for (const m of d.item.materials) mats.append(materialRow(d, m));
    mats.append(materialRow(d, { name: "", other: true }));
  }

  // kind and group
  const kinds = h("div", { class: "chips", role: "radiogroup", "data-testid": "kinds" });
  for (const k of ["代办到乡镇", "上门代办", "在村办结"]) {
    const off = k === "在村办结" && d.item && !d.item.village_level;
    kinds.append(h("button", { type: "button", class: "chip", role: "radio", "aria-checked": String(d.kind === k),
      "data-testid": `kind-${k}`, disabled: off, title: off ? T.kindVillageOnly : null,
      onclick: () => { d.kind = k; if (k !== "上门代办") d.group = null; autosave(); drawForm(); } }, checkMarks(), T.kinds[k]));
  }
  const groups = h("div", { class: "chips", role: "radiogroup", "data-testid": "groups", hidden: d.kind !== "上门代办" });
  for (const g of T.groups) {
    groups.append(h("button", { type: "button", class: "chip", role: "radio", "aria-checked": String(d.group === g),
      "data-testid": `group-${g}`, onclick: () => { d.group = g; autosave(); drawForm(); } }, checkMarks(), g));
  }

  // applicant
  const a = d.applicant;
  const input = (key, attrs) => {
    const el = h("input", { type: "text", value: a[key] || "", autocomplete: "off", ...attrs });
    el.addEventListener("input", () => { a[key] = el.value.trim(); autosave(); });
    return el;
  };
  const certType = h("select", { "data-testid": "cert-type", "aria-label": T.certType },
    [["111", "居民身份证"], ["113", "户口簿"], ["990", "其他证件"]].map(([v, l]) =>
      h("option", { value: v, text: l, selected: a.cert_type === v })));
  certType.addEventListener("change", () => { a.cert_type = certType.value; autosave(); });
  const note = h("textarea", { rows: 2, maxlength: 500, placeholder: T.notePlaceholder, "data-testid": "note",
    "aria-label": T.note });
  note.value = d.note || "";
  note.addEventListener("input", () => { d.note = note.value; autosave(); });

  const err = h("div", { class: "note bad", hidden: true, role: "alert", "data-testid": "form-error" });
  const submit = button(T.submit, { icon: "check", cls: "btn primary main", attrs: { "data-testid": "submit" },
    onClick: () => submitDraft(err, submit) });
  const reset = button(T.clearForm, { cls: "btn", attrs: { "data-testid": "clear-form" }, onClick: () => {
    modal({ title: T.clearForm, body: [h("p", { text: T.clearConfirm })], testid: "clear-confirm", actions: [
      { label: C.cancel }, { label: T.clearForm, cls: "btn danger", onClick: async () => {
        await store.remove(d.key);
        state.draft = null;
        drawForm();
      } }] });
  } });

  clear(content, h("div", { class: "agent-page" }, box));
  clear(box,
    h("h2", {}, icon("case"), T.formTitle, d.status === "error" ? h("span", { class: "badge bad", text: T.draftState.error }) : null),
    d.error && d.error !== "login" ? h("div", { class: "note bad", "data-testid": "draft-error" }, icon("alert"), d.error) : null,
    h("div", { class: "field" }, h("label", { text: T.item }), itemField),
    h("div", { class: "field" }, h("label", { text: T.materials }), mats),
    h("div", { class: "field" }, h("label", { text: T.kind }), kinds),
    h("div", { class: "field", hidden: d.kind !== "上门代办" }, h("label", { text: T.group }), groups),
    h("fieldset", { class: "applicant" }, h("legend", { text: T.applicant }),
      h("div", { class: "grid2" },
        h("div", { class: "field" }, h("label", { text: T.name }), input("name", { maxlength: 50, "data-testid": "name", "aria-label": T.name })),
        h("div", { class: "field" }, h("label", { text: T.certType }), certType),
        h("div", { class: "field" }, h("label", { text: T.certNo }),
          input("cert_no", { maxlength: 40, inputmode: "text", "data-testid": "cert-no", autocapitalize: "characters",
            "aria-label": T.certNo })),
        h("div", { class: "field" }, h("label", { text: T.phone }),
          input("phone", { maxlength: 20, inputmode: "tel", type: "tel", "data-testid": "phone", "aria-label": T.phone })))),
    h("div", { class: "field" }, h("label", { text: T.note }), note),
    err,
    h("div", { class: "form-actions" }, submit, reset));
}

function materialRow(d, m) {
  const mine = d.photos.filter((p) => (p.material || "") === m.name);
  const input = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, hidden: true,
    "data-testid": m.other ? "photo-other" : `photo-${m.name}` });
  input.addEventListener("change", async () => {
    for (const file of input.files) {
      try {
        const blob = await shrinkPhoto(file);
        d.photos.push({ key: newKey("p"), material: m.name, blob, uploaded: false });
      } catch {
        toast(T.photoFailed, "bad");
      }
    }
    input.value = "";
    await store.put(d);
    drawForm();
  });
  const shoot = h("label", { class: "btn photo-btn", "data-testid": m.other ? "shoot-other" : "shoot" },
    camera(), h("span", { text: T.takePhoto }), input);
  const thumbs = h("div", { class: "thumbs" }, mine.map((p) => h("span", { class: "thumb" },
    h("img", { src: blobUrl(p.blob), alt: m.name || T.otherPhoto }),
    h("button", { type: "button", class: "thumb-x", "aria-label": T.photoRemove, onclick: async () => {
      d.photos = d.photos.filter((x) => x !== p);
      await store.put(d);
      drawForm();
    } }, "×"))));
  if (m.other) return h("div", { class: "material other" }, h("span", { class: "grow muted", text: T.otherPhotoRow }), shoot, thumbs);
  const done = d.done.includes(m.name);
  const tick = h("button", { type: "button", class: "tick", role: "checkbox", "aria-checked": String(done),
    "data-testid": `tick-${m.name}`, onclick: () => {
      d.done = done ? d.done.filter((x) => x !== m.name) : [...d.done, m.name];
      autosave();
      drawForm();
    } }, icon(done ? "boxChecked" : "box"));
  return h("div", { class: `material ${done ? "done" : ""}` }, tick,
    h("div", { class: "grow" }, h("div", { class: "m-name", text: m.name }),
      h("div", { class: "muted small" }, h("span", { class: `badge ${m.required ? "warn" : ""}`, text: m.required ? T.required : T.optional }),
        " ", T.copies(m.originals, m.copies))),
    shoot, thumbs);
}

async function submitDraft(err, btn) {
  const d = state.draft;
  const a = d.applicant;
  const problems = [];
  if (!d.item) problems.push(T.check.item);
  if (!a.name) problems.push(T.check.name);
  if (!a.cert_no) problems.push(T.check.certNo);
  else if (a.cert_type === "111" && !idValid(a.cert_no.toUpperCase())) problems.push(T.check.idBad);
  if (a.phone && !/^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/.test(a.phone)) problems.push(T.check.phone);
  if (d.kind === "上门代办" && !d.group) problems.push(T.check.group);
  if (problems.length) {
    clear(err, icon("alert"), problems.join("；"));
    err.hidden = false;
    return;
  }
  btn.disabled = true;
  d.body = { item_code: d.item.impl_code, kind: d.kind, special_group: d.kind === "上门代办" ? d.group : null,
    applicant: { name: a.name, cert_type: a.cert_type, cert_no: a.cert_no.toUpperCase(), phone: a.phone || null },
    materials_done: d.done, note: d.note || null };
  d.title = d.item.name;
  d.who = a.name ? `${a.name.slice(0, 1)}${"*".repeat(Math.max(0, a.name.length - 1))}` : "";
  d.status = "queued";
  d.error = "";
  d.queued_at = new Date().toISOString();
  await store.put(d);
  state.draft = null;
  const outcome = await state.sender.send(d);
  if (outcome === "offline" || outcome === "queued") toast(T.savedLocal, "", 6000);
  if (outcome === "error") state.draft = await store.get(d.key);
  btn.disabled = false;
  drawStatus();
  if (state.tab === "form") drawForm();
}

// ------------------------------------------------------------------ drafts waiting to be sent
/** Re-queue the draft as it is stored now (the listed copy may predate a send that got further, or finished). */
async function retry(key) {
  const d = await store.get(key);
  if (!d) return drawDrafts();
  if (d.status !== "sending") {
    d.status = "queued";
    await store.put(d);
  }
  await state.sender.flush();
}

async function drawDrafts() {
  const drafts = (await ownDrafts()).filter((d) => d.status !== "editing" || d.item);
  const list = h("ul", { class: "draft-list", "data-testid": "draft-list" });
  for (const d of drafts) {
    list.append(h("li", { "data-testid": "draft", "data-state": d.status, "data-registered": Boolean(d.record_id),
      "data-photos-sent": d.photos.filter((p) => p.uploaded).length },
      h("div", { class: "row" }, h("strong", { class: "grow", text: d.title || (d.item && d.item.name) || T.photos }),
        h("span", { class: `badge ${d.status === "error" ? "bad" : d.status === "editing" ? "" : "warn"}`,
          text: T.draftState[d.status] || d.status })),
      h("div", { class: "muted small", text: [d.who, T.draftPhotos(d.photos.length), T.timeFmt(d.saved_at)].filter(Boolean).join(" · ") }),
      d.error && d.error !== "login" ? h("div", { class: "note bad small" }, icon("alert"), d.error) : null,
      h("div", { class: "row" },
        d.status !== "editing" ? button(T.retry, { cls: "btn", icon: "recall", attrs: { "data-testid": "retry" },
          onClick: () => retry(d.key) }) : null,
        !d.record_id && (d.status === "editing" || d.status === "error") ? button(T.edit, { cls: "btn", icon: "case",
          onClick: () => { d.status = "editing"; state.draft = d; store.put(d); show("form"); } }) : null,
        button(T.remove, { cls: "btn danger", onClick: () => modal({ title: T.remove, body: [h("p", { text: T.removeConfirm })],
          actions: [{ label: C.cancel }, { label: T.remove, cls: "btn danger", onClick: async () => {
            await store.remove(d.key);
            if (state.draft && state.draft.key === d.key) state.draft = null;
            drawStatus();
            drawDrafts();
          } }] }) }))));
  }
  clear(content, h("div", { class: "agent-page" }, h("section", { class: "card" },
    h("h2", {}, icon("wifiOff"), T.draftsTitle), drafts.length ? list : h("p", { class: "empty", text: T.draftsEmpty }))));
}

// ------------------------------------------------------------------ the ledger
async function drawLedger() {
  const wrap = h("div", { class: "ledger-wrap" });
  const listBox = h("section", { class: "card ledger-list" });
  const detailBox = h("section", { class: "card ledger-detail", "data-testid": "record-detail" });
  wrap.append(listBox, detailBox);
  clear(content, wrap);
  const chips = h("div", { class: "chips filters" });
  for (const [v, label] of [["", T.filterAll], ...Object.keys(T.states).map((s) => [s, T.states[s]])]) {
    chips.append(h("button", { type: "button", class: "chip", "aria-pressed": String(state.filter.state === v && !state.filter.overdue),
      onclick: () => { state.filter = { state: v, overdue: false }; drawLedger(); } }, label));
  }
  chips.append(h("button", { type: "button", class: "chip", "aria-pressed": String(state.filter.overdue),
    onclick: () => { state.filter = { state: "", overdue: true }; drawLedger(); } }, T.overdueOnly));
  const params = { state: state.filter.state, overdue: state.filter.overdue ? 1 : "" };
  const exportLink = h("a", { class: "btn export", href: `/api/village/records/export${qs(params)}`, download: "",
    "data-testid": "export" }, icon("list"), T.export);
  clear(listBox, h("h2", {}, icon("list"), T.ledgerTitle), chips, h("div", { class: "muted", text: C.loading }));
  let records;
  try {
    records = (await call(() => api.get(`/api/village/records${qs(params)}`))).records;
  } catch (err) {
    clear(listBox, h("h2", {}, icon("list"), T.ledgerTitle), h("div", { class: "note bad" }, icon("alert"), err.message));
    return;
  }
  const ul = h("ul", { class: "record-list", "data-testid": "record-list" });
  for (const r of records) {
    ul.append(h("li", { "data-testid": "record", "data-id": r.id, "data-state": r.state,
      "aria-current": String(state.selected === r.id), onclick: () => { state.selected = r.id; openRecord(r.id, detailBox, wrap); } },
    h("div", { class: "row" }, h("strong", { class: "grow", text: r.item_name }), stateBadge(r.state)),
    h("div", { class: "muted small" }, `${r.ref_no} · ${r.applicant.name} · ${r.kind}${r.special_group ? `（${r.special_group}）` : ""}`),
    h("div", { class: "row small" }, h("span", { class: "muted", text: T.timeFmt(r.registered_at) }),
      r.overdue ? h("span", { class: "badge bad", text: T.overdue }) : null,
      r.missing.length ? h("span", { class: "badge warn", text: T.missing(r.missing.join("、")) }) : null)));
  }
  clear(listBox, h("h2", {}, icon("list"), T.ledgerTitle), chips,
    records.length ? ul : h("p", { class: "empty", text: T.ledgerEmpty }), records.length ? exportLink : null);
  if (state.selected && records.some((r) => r.id === state.selected) && WIDE.matches) openRecord(state.selected, detailBox, wrap);
  else clear(detailBox, h("p", { class: "muted empty", text: T.detailPick }));
}

function stateBadge(s) {
  const cls = s === "办结" ? "ok" : s === "退回补正" ? "bad" : s === "已送乡镇" || s === "乡镇已接件" ? "" : "warn";
  return h("span", { class: `badge ${cls}`, "data-testid": "state", text: T.states[s] || s });
}

async function openRecord(id, box, wrap) {
  wrap.classList.add("show-detail");
  for (const li of wrap.querySelectorAll(".record-list li")) li.setAttribute("aria-current", String(Number(li.dataset.id) === id));
  clear(box, h("div", { class: "muted", text: C.loading }));
  let r;
  try {
    r = (await call(() => api.get(`/api/village/records/${id}`))).record;
  } catch (err) {
    clear(box, h("div", { class: "note bad" }, icon("alert"), err.message));
    return;
  }
  const back = button(T.backToList, { icon: "back", cls: "btn toggle back-to-list", onClick: () => wrap.classList.remove("show-detail") });
  const editable = EDITABLE.has(r.state);
  const done = new Set(r.materials.filter((m) => m.done).map((m) => m.name));
  const matList = h("div", { class: "materials" }, r.materials.map((m) => {
    const tick = h("button", { type: "button", class: "tick", role: "checkbox", "aria-checked": String(done.has(m.name)),
      disabled: !editable, onclick: () => {
        if (done.has(m.name)) done.delete(m.name); else done.add(m.name);
        tick.setAttribute("aria-checked", String(done.has(m.name)));
        tick.replaceChildren(icon(done.has(m.name) ? "boxChecked" : "box"));
        saveTicks.hidden = false;
      } }, icon(done.has(m.name) ? "boxChecked" : "box"));
    return h("div", { class: "material" }, tick, h("div", { class: "grow" }, h("div", { class: "m-name", text: m.name }),
      h("span", { class: `badge ${m.required ? "warn" : ""}`, text: m.required ? T.required : T.optional })));
  }));
  const saveTicks = button(T.saveTicks, { cls: "btn", icon: "check", attrs: { hidden: true }, onClick: async () => {
    try {
      await call(() => request("PATCH", `/api/village/records/${id}`, { materials_done: [...done] }));
      toast(T.ticksSaved, "ok");
      openRecord(id, box, wrap);
    } catch (err) { toast(err.message, "bad"); }
  } });
  const photos = h("div", { class: "thumbs big" }, r.photos.map((p) => h("a", { href: `/api/village/records/${id}/photos/${p.id}`,
    target: "_blank", class: "thumb" }, h("img", { src: `/api/village/records/${id}/photos/${p.id}`, alt: p.material || T.otherPhoto,
    loading: "lazy" }))));
  const shooter = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, hidden: true,
    "data-testid": "detail-photo" });
  shooter.addEventListener("change", async () => {
    const d = { key: newKey("x"), owner: state.session.staff_id, status: "queued", queued_at: new Date().toISOString(),
      record_id: id, body: null, title: `${T.addPhoto} · ${r.ref_no}`, photos: [] };
    for (const file of shooter.files) d.photos.push({ key: newKey("p"), material: "", blob: await shrinkPhoto(file), uploaded: false });
    shooter.value = "";
    await store.put(d);
    const outcome = await state.sender.send(d);
    if (outcome !== "sent") toast(T.savedLocal, "", 6000);
    openRecord(id, box, wrap);
  });
  const addPhoto = editable ? h("label", { class: "btn photo-btn" }, camera(), h("span", { text: T.addPhoto }), shooter) : null;
  const steps = h("div", { class: "form-actions" }, r.next.map((s) => button(T.actions[s] || s, {
    cls: s === "已送乡镇" || s === "办结" ? "btn primary" : "btn", attrs: { "data-testid": `move-${s}` },
    onClick: () => move(r, s, box, wrap) })));
  const caseLine = r.case ? h("div", { class: "note info", "data-testid": "case-line" }, icon("case"),
    h("span", {}, T.caseLine(r.case.receipt_no, r.case.status), r.case.official_no ? `，${T.caseOfficial(r.case.official_no)}` : "")) : null;
  const tell = T.tellVillager[r.state] ? h("div", { class: `note ${r.state === "办结" ? "ok" : r.state === "退回补正" ? "bad" : "info"}` },
    icon(r.state === "办结" ? "check" : "info"), T.tellVillager[r.state]) : null;
  const history = h("ol", { class: "timeline", "data-testid": "history" }, r.history.map((x) => h("li", {},
    h("div", { class: "row" }, h("strong", { text: T.states[x.to] || x.to }), h("span", { class: "muted small", text: T.timeFmt(x.at) }),
      h("span", { class: "muted small", text: x.actor_name || "" })),
    x.note ? h("div", { class: "small", text: x.note }) : null)));
  clear(box, back,
    h("div", { class: "row" }, h("h2", { class: "grow", text: r.item_name }), stateBadge(r.state)),
    h("div", { class: "muted" }, `${T.ref} ${r.ref_no} · ${r.kind}${r.special_group ? `（${r.special_group}）` : ""}`),
    h("div", {}, `${T.applicantShort}：${r.applicant.name}　${r.applicant.cert_no}　${r.applicant.phone || ""}`),
    r.note ? h("div", { class: "muted small", text: r.note }) : null,
    tell, caseLine,
    h("h3", { text: T.materials }), matList, saveTicks,
    h("h3", { text: T.photos }), r.photos.length ? photos : h("p", { class: "muted", text: T.noPhotos }), addPhoto,
    steps,
    h("h3", { text: T.history }), history);
}

async function move(r, to, box, wrap) {
  const go = async () => {
    try {
      await call(() => api.post(`/api/village/records/${r.id}/state`, { state: to }));
      toast(T.moved(T.states[to] || to), "ok");
      state.selected = r.id;
      await drawLedger();
      const fresh = document.querySelector(".ledger-wrap");
      if (fresh) openRecord(r.id, fresh.querySelector(".ledger-detail"), fresh);
    } catch (err) { toast(err.message, "bad", 6000); }
  };
  const ask = to === "已送乡镇" ? T.confirmHandover : to === "办结" ? T.confirmFinish : null;
  if (!ask) return go();
  modal({ title: T.actions[to], body: [h("p", { text: ask })], testid: "move-confirm",
    actions: [{ label: C.cancel }, { label: T.actions[to], cls: "btn primary", testid: "move-yes", onClick: go }] });
}

// ------------------------------------------------------------------ the duty roster
async function drawRoster() {
  const box = h("section", { class: "card" }, h("h2", {}, icon("people"), T.rosterTitle), h("p", { class: "muted", text: T.rosterHint }));
  clear(content, h("div", { class: "agent-page" }, box));
  let days;
  try {
    days = (await call(() => api.get("/api/village/roster"))).days;
  } catch (err) {
    box.append(h("div", { class: "note bad" }, icon("alert"), err.message));
    return;
  }
  const agents = state.me ? state.me.agents : [];
  const today = state.me ? state.me.today : "";
  const ul = h("ul", { class: "roster", "data-testid": "roster" });
  for (const d of days) {
    const wd = T.weekdays[new Date(`${d.day}T12:00:00`).getDay()];
    const label = h("span", { class: "day" }, T.dayFmt(d.day, wd), d.day === today ? h("span", { class: "badge", text: T.today }) : null);
    if (!d.workday) {
      ul.append(h("li", { class: "rest" }, label, h("span", { class: "muted", text: T.restDay })));
      continue;
    }
    const sel = h("select", { "aria-label": T.pickAgent, "data-testid": `duty-${d.day}` },
      h("option", { value: "", text: T.noDuty }),
      agents.map((a) => h("option", { value: a.id, text: a.name, selected: d.agent && d.agent.id === a.id })));
    sel.addEventListener("change", async () => {
      try {
        await call(() => api.put("/api/village/roster", { day: d.day, agent_id: sel.value ? Number(sel.value) : null }));
        toast(T.rosterSaved, "ok");
        state.me = await api.get("/api/village/me");
        drawStatus();
      } catch (err) { toast(err.message, "bad"); }
    });
    ul.append(h("li", { class: d.agent ? "" : "gap" }, label, sel));
  }
  box.append(ul);
}

// The township's steps (接件, 办结, 退回补正) show up without a reload: the ledger list refreshes
// itself while it is on screen (never under an open detail, where the agent may be ticking boxes).
setInterval(() => {
  if (state.session && state.tab === "ledger" && document.visibilityState === "visible"
      && !document.querySelector(".ledger-wrap.show-detail")) drawLedger();
}, 60000);

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
