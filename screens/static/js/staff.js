// The frame of the staff pages (/manager, /tech): header band with the signed-in
// person, sign-in by staff id + PIN for one role, tabs, and small helpers for
// tables, figures and forms. The role is enforced by the server (every API
// answers 401/403); this page only shows the sign-in until the role's session
// exists, and goes back to it when the session ends. Words come from the
// screen's own i18n file (T.login, T.fmt …): this module holds no text.
import { ApiError, api } from "./api.js";
import { icon } from "./icons.js";
import { button, clear, h, hallTime, masthead, offlineBanner, pageData, toast, watchHealth } from "./ui.js";

/**
 * A page for one staff role.
 * @param {object} o
 * @param {"manager"|"technician"} o.role
 * @param {object} o.T        the screen's words (subtitle, login.*, roleName)
 * @param {(session, page) => void} o.onStart   draws the signed-in page
 * @param {() => void} [o.onStop]               stops timers and streams
 */
export class StaffPage {
  constructor({ role, T, onStart, onStop = () => {} }) {
    this.role = role;
    this.T = T;
    this.onStart = onStart;
    this.onStop = onStop;
    this.page = pageData();
    this.session = null;
    this.stage = document.getElementById("stage");
    this.footbar = document.getElementById("footbar");
    const head = document.getElementById("masthead");
    masthead(head, { hall: this.page.hall, subtitle: T.subtitle });
    this.banners = document.getElementById("banners");
    watchHealth(this.banners);
    this.offline = offlineBanner(this.banners);
    this.who = h("div", { class: "who", "data-testid": "who" });
    head.insertBefore(this.who, head.querySelector(".clock"));
  }

  async boot() {
    let session = null;
    try {
      session = (await api.get("/api/session")).session;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) toast(err.message, "bad", 6000);
    }
    if (session && session.role === this.role) this.start(session);
    else this.showLogin(session ? this.T.login.otherRole(session.name) : "");
  }

  /** GET/POST/DELETE that send the page back to the sign-in when the session has ended (401). */
  get api() {
    const guard = (p) => p.catch((err) => {
      if (err instanceof ApiError && err.status === 401 && this.session) this.expired();
      throw err;
    });
    return {
      get: (path, o) => guard(api.get(path, o)),
      post: (path, body, o) => guard(api.post(path, body, o)),
      del: (path, o) => guard(api.del(path, o)),
    };
  }

  expired() {
    this.stop();
    this.showLogin(this.T.login.expired);
  }

  stop() {
    if (this.session) this.onStop();
    this.session = null;
  }

  start(session) {
    this.session = session;
    clear(this.who, icon("user"), h("span", { class: "who-name", text: `${session.name} · ${this.T.roleName}` }),
      button(this.T.login.logout, { icon: "logout", cls: "btn toggle",
        attrs: { "data-testid": "logout" }, onClick: () => this.logout() }));
    this.onStart(session, this);
  }

  async logout() {
    this.stop();
    try { await api.del("/api/session"); } catch { /* signed out here anyway */ }
    this.showLogin("");
  }

  showLogin(message) {
    const L = this.T.login;
    clear(this.who);
    clear(this.footbar);
    const staff = h("input", { type: "text", autocomplete: "username", maxlength: 32, "data-testid": "staff-id",
      "aria-label": L.staffId, inputmode: "numeric" });
    // manager and technician sign in with a password (letters too), not a numeric PIN
    const pin = h("input", { type: "password", autocomplete: "current-password", maxlength: 128, "data-testid": "pin",
      "aria-label": L.pin });
    const err = h("div", { class: "note bad", role: "alert", "data-testid": "login-error", hidden: !message },
      icon("alert"), h("span", { text: message || "" }));
    const submit = button(L.submit, { icon: "next", cls: "btn primary main", attrs: { "data-testid": "login" } });
    const fail = (text) => {
      clear(err, icon("alert"), h("span", { text }));
      err.hidden = false;
    };
    const go = async () => {
      err.hidden = true;
      if (!staff.value.trim() || !pin.value) { fail(L.needBoth); return; }
      submit.disabled = true;
      try {
        const r = await api.post("/api/session", { staff_id: staff.value.trim(), pin: pin.value });
        pin.value = "";
        if (r.session.role !== this.role) {
          // someone else's account: do not leave that session behind on this PC
          try { await api.del("/api/session"); } catch { /* gone anyway */ }
          fail(L.wrongRole);
          return;
        }
        this.start(r.session);
      } catch (e) {
        pin.value = "";
        fail(e.code === "window_required" ? L.wrongRole : e.message);
      } finally {
        submit.disabled = false;
      }
    };
    submit.addEventListener("click", go);
    for (const inp of [staff, pin]) inp.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    clear(this.stage, h("div", { class: "staff-login" },
      h("form", { class: "card login-card", onsubmit: (e) => { e.preventDefault(); go(); } },
        h("h1", {}, icon(L.icon || "user"), L.title),
        h("p", { class: "muted", text: L.hint }),
        h("div", { class: "field" }, h("label", { text: L.staffId }), staff),
        h("div", { class: "field" }, h("label", { text: L.pin }), pin),
        err, submit)));
    staff.focus();
  }
}

// ---------------------------------------------------------------------- tabs
/**
 * A row of tabs over one panel at a time. panels: [{id, label, icon, mount(node), show(), hide()}].
 * Panels mount lazily on first show; `panel.visible` says whether it is on screen; the chosen tab is
 * kept in the URL hash.
 */
export function tabs(stage, panels, { footer = null } = {}) {
  const bar = h("nav", { class: "tabbar", role: "tablist" });
  // the panels scroll here: focusable so keyboard users can scroll it (axe scrollable-region-focusable)
  const body = h("div", { class: "tabbody", tabindex: "0" });
  const nodes = new Map();
  let current = null;
  const select = (id) => {
    const p = panels.find((x) => x.id === id) || panels[0];
    if (current === p) return;
    if (current) {
      current.visible = false;
      current.hide?.();
      nodes.get(current.id).hidden = true;
    }
    current = p;
    p.visible = true;
    for (const b of bar.children) b.setAttribute("aria-selected", String(b.dataset.tab === p.id));
    if (!nodes.has(p.id)) {
      const node = h("section", { class: "panel", role: "tabpanel", "data-testid": `panel-${p.id}` });
      nodes.set(p.id, node);
      body.append(node);
      p.mount(node);
    }
    nodes.get(p.id).hidden = false;
    body.scrollTop = 0;
    p.show?.();
    if (location.hash !== `#${p.id}`) history.replaceState(null, "", `#${p.id}`);
  };
  for (const p of panels) {
    const b = h("button", { type: "button", class: "tab", role: "tab", "data-tab": p.id, "data-testid": `tab-${p.id}`,
      onclick: () => select(p.id) }, icon(p.icon), h("span", { class: "label", text: p.label }),
    h("span", { class: "tab-count", hidden: true }));
    bar.append(b);
  }
  clear(stage, h("div", { class: "staff-shell" }, bar, body, footer));
  select(location.hash.slice(1));
  return {
    select,
    current: () => current,
    /** A small count on a tab (e.g. open rectifications); 0 or null hides it. */
    badge(id, n, kind = "") {
      const b = bar.querySelector(`[data-tab="${id}"] .tab-count`);
      if (!b) return;
      b.hidden = !n;
      b.textContent = n ? String(n) : "";
      b.className = `tab-count ${kind}`;
    },
  };
}

// ---------------------------------------------------------------------- building blocks
/**
 * A tab that loads each time it is shown and, with `live`, again on the page's live events while it
 * is on screen: `fetch()` gets its data and `render(data)` draws it, both behind `guarded` (which shows
 * a failure and stamps the footer). `loaded` tells the page it has drawn once.
 */
export function tabPanel({ id, icon: iconName, guarded, mount, fetch, render, live = false }) {
  const panel = {
    id, icon: iconName, loaded: false,
    mount,
    show() { panel.load(); },
    onLive() { if (live && panel.visible) panel.load(); },
    async load() {
      await guarded(async () => {
        const data = await fetch();
        panel.loaded = true;
        await render(data);
      });
    },
  };
  return panel;
}

/** A card with a heading (icon + title), optional tools on the right, and content. */
export function card(title, iconName, { tools = [], cls = "", testid } = {}, ...content) {
  return h("div", { class: `card staff-card ${cls}`, "data-testid": testid },
    h("div", { class: "card-head" }, h("h2", {}, icon(iconName), h("span", { text: title })),
      h("div", { class: "card-tools" }, tools)),
    ...content);
}

/** A figure tile: big value, label, optional note (values already formatted). */
export function kpi(label, value, { note = "", kind = "", testid } = {}) {
  return h("div", { class: `kpi ${kind}`, "data-testid": testid },
    h("div", { class: "kpi-value", text: value }), h("div", { class: "kpi-label", text: label }),
    note ? h("div", { class: "kpi-note", text: note }) : null);
}

/**
 * A data table. columns: [{label, get(row) -> text|Node, num: bool, cls}]; `empty` when no rows.
 */
export function dataTable(columns, rows, { empty = "", testid, cls = "" } = {}) {
  if (!rows.length && empty) return h("div", { class: "empty", "data-testid": testid, text: empty });
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : c.cls || "", text: c.label })));
  const body = rows.map((r) => h("tr", { class: r && r._cls ? r._cls : "" }, columns.map((c) => {
    const v = c.get(r);
    return h("td", { class: c.num ? "num" : c.cls || "" }, v instanceof Node ? v : (v ?? "—"));
  })));
  return h("div", { class: `table-wrap ${cls}` },
    h("table", { class: "data", "data-testid": testid }, h("thead", {}, head), h("tbody", {}, body)));
}

/** A labelled form field around an input/select/textarea. */
export function field(label, control, { wide = false, hint = "" } = {}) {
  return h("label", { class: `field ${wide ? "wide" : ""}` }, h("span", { class: "field-label", text: label }), control,
    hint ? h("span", { class: "field-hint", text: hint }) : null);
}

export function select(options, { value = "", testid, name } = {}) {
  const s = h("select", { "data-testid": testid, name });
  for (const [v, label] of options) s.append(h("option", { value: v, text: label }));
  if (value) s.value = value;
  return s;
}

/** A state word with an icon: colour is never the only cue. kind: ok | warn | bad | "" */
export function badge(text, kind = "", iconName = null) {
  return h("span", { class: `badge ${kind}` }, iconName ? icon(iconName) : null, text);
}

/**
 * Loads a tab's data through `fn`: on success stamps the footer's `status` line with the time (after
 * `lead`, e.g. the live-stream dot), on failure shows the reason as a toast. A 401 is left to the
 * sign-in (the page goes back to it). Returns guarded(fn).
 */
export function guardedLoader(T, status, lead = null) {
  const stamp = () => {
    const t = hallTime();
    const p = (n) => String(n).padStart(2, "0");
    clear(status, lead, h("span", { text: T.updated(`${p(t.hour)}:${p(t.minute)}:${p(new Date().getSeconds())}`) }));
  };
  return async (fn) => {
    try {
      await fn();
      stamp();
    } catch (err) {
      if (err && err.status === 401) return;
      toast(T.loadFailed(err.message), "bad", 6000);
    }
  };
}

/**
 * Runs `fn` now and then every `ms` (after each run ends) between start() and stop(); now() runs it at
 * once. One run at a time: a now() during a run asks for one more run right after it. Errors are left to
 * `fn` (it shows them); polling goes on.
 */
export function every(ms, fn) {
  let timer = null;
  let on = false;
  let busy = false;
  let again = false;
  const tick = async () => {
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    try { await fn(); } catch { /* shown by fn; keep polling */ }
    busy = false;
    if (!on) return;
    const wait = again ? 0 : ms;
    again = false;
    timer = setTimeout(tick, wait);
  };
  return {
    start() {
      if (on) return;
      on = true;
      timer = setTimeout(tick, 0);
    },
    stop() {
      on = false;
      again = false;
      clearTimeout(timer);
      timer = null;
    },
    now() {
      if (!on) return;
      clearTimeout(timer);
      tick();
    },
  };
}

/**
 * Coalesces bursts: the first call schedules `fn` after `ms`, calls in between join it. A busy hall's
 * stream of events thus reloads a panel at most once per `ms`, and always after the last event.
 */
export function coalesce(fn, ms) {
  let t = null;
  return () => {
    if (t) return;
    t = setTimeout(() => { t = null; fn(); }, ms);
  };
}

// ---------------------------------------------------------------------- formatting
export const fmt = {
  pct: (x, digits = 1) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(digits)}%`),
  num: (x) => (x === null || x === undefined ? "—" : String(x)),
  /** minutes with one decimal below 10, whole above */
  min: (x) => (x === null || x === undefined ? "—" : x < 10 ? x.toFixed(1) : String(Math.round(x))),
  /** "2026-11-25T09:12:30+08:00" → "09:12" */
  hhmm: (iso) => (iso ? iso.slice(11, 16) : "—"),
  /** → "11-25 09:12" */
  mdhm: (iso) => (iso ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : "—"),
  /** → "2026-11-25" */
  day: (iso) => (iso ? iso.slice(0, 10) : "—"),
  /** seconds since the epoch → "11-25 09:12:30" in the hall's zone */
  epoch: (s) => {
    if (!s) return "—";
    const at = new Date(s * 1000);
    const d = hallTime(at);
    const p = (n) => String(n).padStart(2, "0");
    return `${p(d.month)}-${p(d.day)} ${p(d.hour)}:${p(d.minute)}:${p(at.getSeconds())}`;
  },
};

/** "YYYY-MM" of a hall-time date, and month arithmetic. */
export function monthOf(t) {
  return `${t.year}-${String(t.month).padStart(2, "0")}`;
}

export function addMonths(month, n) {
  const [y, m] = month.split("-").map(Number);
  const i = y * 12 + (m - 1) + n;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`;
}

export function monthDays(month) {
  const [y, m] = month.split("-").map(Number);
  return new Date(y, m, 0).getDate();
}
