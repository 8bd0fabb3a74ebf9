// The township's page for the village stations (/villages), for the hall manager: the month's
// figures per village with overdue handovers, incomplete materials and duty gaps; random spot
// checks of the ledgers; villages and agents (names and phones are public on the station pages).
import T from "../i18n/villages.js";
import C from "../i18n/common.js";
import { api, qs, request } from "./api.js";
import { icon } from "./icons.js";
import { button, clear, h, masthead, modal, pageData, toast } from "./ui.js";

const page = pageData();
const head = document.getElementById("masthead");
const stage = document.getElementById("stage");
masthead(head, { hall: page.hall, subtitle: T.subtitle });

const state = { tab: "oversight", month: "", villages: [] };
const nav = h("nav", { class: "admin-tabs", role: "tablist" });
const body = h("div", { class: "admin-body" });

function field(label, input) {
  return h("label", { class: "field" }, h("span", { text: label }), input);
}

function input(attrs = {}) {
  return h("input", { type: "text", autocomplete: "off", ...attrs });
}

async function guard(fn, ok) {
  try {
    const r = await fn();
    if (ok) toast(ok, "ok");
    return r;
  } catch (err) {
    toast(err.message, "bad", 6000);
    return null;
  }
}

// ------------------------------------------------------------------ sign-in
function showLogin(message = "") {
  const id = input({ inputmode: "numeric", "data-testid": "staff-id" });
  const pin = h("input", { type: "password", maxlength: 128, "data-testid": "pin" });  // the manager's password
  const err = h("div", { class: "note bad", hidden: !message, role: "alert" }, icon("alert"), message);
  const go = async () => {
    try {
      const r = await api.post("/api/session", { staff_id: id.value.trim(), pin: pin.value });
      if (r.session.role !== "manager") { clear(err, icon("alert"), T.notManager); err.hidden = false; return; }
      start();
    } catch (e) { clear(err, icon("alert"), e.message); err.hidden = false; }
  };
  pin.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  clear(stage, h("div", { class: "admin-login" }, h("div", { class: "card" },
    h("h1", {}, icon("user"), T.loginTitle), h("p", { class: "muted", text: T.loginSub }),
    field(T.staffId, id), field(T.pin, pin), err,
    button(T.signIn, { cls: "btn primary", icon: "next", attrs: { "data-testid": "signin" }, onClick: go }))));
}

async function start() {
  const now = new Date();
  state.month = state.month || `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  clear(nav, Object.entries(T.tabs).map(([k, label]) => h("button", { type: "button", class: "chip", role: "tab",
    "aria-selected": String(state.tab === k), "data-testid": `admin-tab-${k}`, onclick: () => show(k) }, label)));
  clear(stage, h("div", { class: "admin" }, h("div", { class: "row" }, nav,
    button(T.logout, { cls: "btn toggle", icon: "logout", onClick: async () => { await api.del("/api/session"); showLogin(); } })), body));
  await loadVillages();
  show(state.tab);
}

async function loadVillages() {
  state.villages = (await api.get("/api/village/villages")).villages;
}

function show(tab) {
  state.tab = tab;
  for (const b of nav.children) b.setAttribute("aria-selected", String(b.dataset.testid === `admin-tab-${tab}`));
  ({ oversight: drawOversight, checks: drawChecks, villages: drawVillages, agents: drawAgents, settings: drawSettings })[tab]();
}

function monthPicker(onChange) {
  // the last 13 months, newest first (a select reads the same in every browser language)
  const now = new Date();
  const months = Array.from({ length: 13 }, (_, i) => {
    const d = new Date(now.getFullYear(), now.getMonth() - i, 1);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
  });
  const m = h("select", { "data-testid": "month" }, months.map((v) => h("option", { value: v, text: T.monthName(v),
    selected: v === state.month })));
  m.addEventListener("change", () => { state.month = m.value; onChange(); });
  return field(T.month, m);
}

function recordLine(r, extra = "") {
  return h("li", {}, h("strong", { text: `${r.village} · ${r.item_name}` }),
    h("span", { class: "muted", text: ` ${r.ref_no} · ${r.applicant.name} · ${r.state} · ${T.since(r.registered_at.slice(0, 10))}${extra}` }));
}

// ------------------------------------------------------------------ oversight
async function drawOversight() {
  clear(body, h("div", { class: "muted", text: C.loading }));
  const o = await guard(() => api.get(`/api/village/oversight${qs({ month: state.month })}`));
  if (!o) return;
  const keys = ["registered", "in_village", "to_township", "at_home", "special", "handed", "finished", "returned",
    "overdue", "incomplete", "duty_gaps", "spot_checks", "spot_problems"];
  const warnCols = new Set(["overdue", "incomplete", "duty_gaps", "spot_problems"]);
  const table = h("table", { class: "fig-table village-table", "data-testid": "village-table" },
    h("thead", {}, h("tr", {}, T.cols.map((c) => h("th", { text: c })))),
    h("tbody", {}, o.villages.map((v) => h("tr", {}, h("th", {}, h("a", { href: `/station/${v.village_id}`, text: v.village })),
      keys.map((k) => h("td", { class: warnCols.has(k) && v[k] > 0 ? "warn" : "", text: String(v[k]) })))),
    o.villages.length ? h("tr", { class: "total" }, h("th", { text: T.total }), keys.map((k) => h("td", { text: String(o.total[k]) }))) : null));
  const gaps = o.duty_gaps.filter((g) => g.count > 0);
  clear(body,
    h("div", { class: "row" }, monthPicker(drawOversight),
      h("a", { class: "btn", href: `/api/village/oversight/monthly${qs({ month: o.month, format: "csv" })}`, download: "",
        "data-testid": "export-month" }, icon("list"), T.exportMonth),
      h("a", { class: "btn", href: "/api/village/records/export", download: "" }, icon("list"), T.exportLedger),
      h("span", { class: "badge warn", text: T.incoming(o.incoming) })),
    h("section", { class: "card" }, h("h2", {}, icon("building"), T.table), h("div", { class: "table-scroll" }, table)),
    h("div", { class: "cols" },
      h("section", { class: "card" }, h("h2", {}, icon("alert"), T.overdueTitle(o.settings.overdue_days)),
        o.overdue.length ? h("ul", { class: "plain", "data-testid": "overdue" }, o.overdue.map((r) => recordLine(r))) : h("p", { class: "muted", text: T.none })),
      h("section", { class: "card" }, h("h2", {}, icon("case"), T.incompleteTitle),
        o.incomplete.length ? h("ul", { class: "plain" }, o.incomplete.map((r) => recordLine(r, ` · ${r.missing.join("、")}`)))
          : h("p", { class: "muted", text: T.none })),
      h("section", { class: "card" }, h("h2", {}, icon("clock"), T.lateIntakeTitle(o.settings.intake_days)),
        o.late_intake.length ? h("ul", { class: "plain" }, o.late_intake.map((r) => recordLine(r))) : h("p", { class: "muted", text: T.none })),
      h("section", { class: "card" }, h("h2", {}, icon("people"), T.gapsTitle),
        gaps.length ? h("ul", { class: "plain", "data-testid": "gaps" }, gaps.map((g) => h("li", {}, h("strong", { text: `${g.village}（${g.count}）` }),
          h("span", { class: "muted", text: ` ${g.days.map((d) => d.slice(5)).join("、")}` })))) : h("p", { class: "muted", text: T.noGaps }))));
}

// ------------------------------------------------------------------ spot checks
async function drawChecks() {
  const count = h("input", { type: "number", min: 1, max: 50, value: 5, "data-testid": "pick-count" });
  const village = h("select", {}, h("option", { value: "", text: T.allVillages }),
    state.villages.map((v) => h("option", { value: v.id, text: v.name })));
  const r = await guard(() => api.get(`/api/village/spot-checks${qs({ month: state.month })}`));
  if (!r) return;
  const rows = r.checks.map((c) => {
    const result = h("select", {}, ["", T.pass, T.problem].map((v) => h("option", { value: v, text: v || T.unchecked, selected: (c.result || "") === v })));
    const finding = input({ value: c.finding || "", maxlength: 500 });
    return h("tr", {}, h("td", { text: c.village }), h("td", { text: c.ref_no }), h("td", { text: c.item_name }),
      h("td", { text: `${c.applicant_name} · ${c.state}` }), h("td", {}, result), h("td", {}, finding),
      h("td", {}, button(T.save, { cls: "btn", onClick: () => guard(() => api.post(`/api/village/spot-checks/${c.id}`,
        { result: result.value, finding: finding.value.trim() }), T.saved) })));
  });
  clear(body,
    h("section", { class: "card" }, h("h2", {}, icon("search"), T.checksTitle),
      h("div", { class: "row" }, monthPicker(drawChecks), field(T.pickCount, count), field(T.pickVillage, village),
        button(T.pick, { cls: "btn primary", icon: "search", attrs: { "data-testid": "pick" }, onClick: async () => {
          const got = await guard(() => api.post("/api/village/spot-checks", { count: Number(count.value) || 5,
            village_id: village.value ? Number(village.value) : null, month: state.month }));
          if (got) { toast(T.picked(got.checks.length), "ok"); drawChecks(); }
        } })),
      rows.length ? h("div", { class: "table-scroll" }, h("table", { class: "fig-table", "data-testid": "checks" },
        h("tbody", {}, rows))) : h("p", { class: "muted", text: T.checksEmpty })));
}

// ------------------------------------------------------------------ villages
function villageForm(v, done) {
  const f = { name: input({ value: v ? v.name : "", maxlength: 40 }), station_name: input({ value: v ? v.station_name : "", maxlength: 60 }),
    address: input({ value: v ? v.address : "", maxlength: 120 }), phone: input({ value: v ? v.phone : "", maxlength: 20 }),
    hours: input({ value: v ? v.hours : "", maxlength: 100 }) };
  modal({ title: v ? `${T.edit} ${v.name}` : T.addVillage, testid: "village-form",
    body: [h("div", { class: "form-grid" }, field(T.name, f.name), field(T.stationName, f.station_name), field(T.address, f.address),
      field(T.phone, f.phone), field(T.hours, f.hours))],
    actions: [{ label: T.cancel }, { label: T.save, cls: "btn primary", onClick: async () => {
      const data = Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()]));
      if (!data.phone) data.phone = null;
      const r = await guard(() => (v ? request("PATCH", `/api/village/villages/${v.id}`, data) : api.post("/api/village/villages", data)),
        v ? T.updated : T.added);
      if (!r) return false;
      done();
      return true;
    } }] });
}

async function drawVillages() {
  await loadVillages();
  clear(body, h("section", { class: "card" },
    h("div", { class: "row" }, h("h2", { class: "grow" }, icon("building"), T.villagesTitle),
      button(T.addVillage, { cls: "btn primary", icon: "check", onClick: () => villageForm(null, drawVillages) })),
    h("table", { class: "fig-table" }, h("thead", {}, h("tr", {}, [T.name, T.stationName, T.address, T.phone, T.hours, ""].map((c) => h("th", { text: c })))),
      h("tbody", {}, state.villages.map((v) => h("tr", { class: v.active ? "" : "off" },
        h("td", { text: v.name }), h("td", {}, h("a", { href: `/station/${v.id}`, text: v.station_name })), h("td", { text: v.address }),
        h("td", { text: v.phone }), h("td", { text: v.hours }),
        h("td", { class: "row" }, button(T.edit, { cls: "btn", onClick: () => villageForm(v, drawVillages) }),
          button(v.active ? T.disable : T.enable, { cls: "btn", onClick: async () => {
            await guard(() => request("PATCH", `/api/village/villages/${v.id}`, { active: !v.active }), T.updated);
            drawVillages();
          } }))))))));
}

// ------------------------------------------------------------------ agents
async function drawAgents() {
  await loadVillages();
  const agents = (await guard(() => api.get("/api/village/agents"))) || { agents: [] };
  const name = (id) => (state.villages.find((v) => v.id === id) || {}).name || id;
  const f = { village_id: h("select", {}, state.villages.filter((v) => v.active).map((v) => h("option", { value: v.id, text: v.name }))),
    login: input({ maxlength: 32 }), name: input({ maxlength: 30 }), duty: input({ value: "代办员", maxlength: 30 }),
    phone: input({ maxlength: 20, inputmode: "tel" }), cert_no: input({ maxlength: 18 }),
    pin: h("input", { type: "password", inputmode: "numeric", maxlength: 12 }) };
  const add = button(T.addAgent, { cls: "btn primary", icon: "check", onClick: async () => {
    const data = Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()]));
    data.village_id = Number(data.village_id);
    if (await guard(() => api.post("/api/village/agents", data), T.added)) drawAgents();
  } });
  clear(body,
    h("section", { class: "card" }, h("h2", {}, icon("user"), T.addAgent),
      h("div", { class: "form-grid" }, field(T.village, f.village_id), field(T.login, f.login), field(T.agentName, f.name),
        field(T.duty, f.duty), field(T.phone, f.phone), field(T.certNo, f.cert_no), field(T.newPin, f.pin)), add),
    h("section", { class: "card" }, h("h2", {}, icon("people"), T.agentsTitle),
      h("table", { class: "fig-table" }, h("thead", {}, h("tr", {}, [T.village, T.agentName, T.duty, T.phone, T.login, T.certNo, ""].map((c) => h("th", { text: c })))),
        h("tbody", {}, agents.agents.map((a) => h("tr", { class: a.active ? "" : "off" },
          h("td", { text: name(a.village_id) }), h("td", { text: a.name }), h("td", { text: a.duty }), h("td", { text: a.phone }),
          h("td", { text: a.login }), h("td", { text: a.cert_no }),
          h("td", { class: "row" },
            button(T.resetPin, { cls: "btn", onClick: () => {
              const p = h("input", { type: "password", inputmode: "numeric", maxlength: 12 });
              modal({ title: `${T.resetPin} · ${a.name}`, body: [field(T.resetPinPrompt, p)], actions: [{ label: T.cancel },
                { label: T.save, cls: "btn primary", onClick: async () => Boolean(await guard(() =>
                  request("PATCH", `/api/village/agents/${a.id}`, { pin: p.value }), T.updated)) }] });
            } }),
            button(T.move, { cls: "btn", onClick: () => {
              const sel = h("select", {}, state.villages.filter((v) => v.active).map((v) => h("option", { value: v.id, text: v.name,
                selected: v.id === a.village_id })));
              modal({ title: `${T.move} · ${a.name}`, body: [field(T.village, sel)], actions: [{ label: T.cancel },
                { label: T.save, cls: "btn primary", onClick: async () => {
                  const ok = await guard(() => request("PATCH", `/api/village/agents/${a.id}`, { village_id: Number(sel.value) }), T.updated);
                  if (ok) drawAgents();
                  return Boolean(ok);
                } }] });
            } }),
            button(a.active ? T.disable : T.enable, { cls: "btn", onClick: async () => {
              await guard(() => request("PATCH", `/api/village/agents/${a.id}`, { active: !a.active }), T.updated);
              drawAgents();
            } }))))))));
}

// ------------------------------------------------------------------ settings
async function drawSettings() {
  const s = await guard(() => api.get("/api/village/settings"));
  if (!s) return;
  const overdue = h("input", { type: "number", min: 1, max: 30, value: s.overdue_days });
  const intake = h("input", { type: "number", min: 1, max: 30, value: s.intake_days });
  clear(body, h("section", { class: "card narrow" }, h("h2", {}, icon("rules"), T.settingsTitle),
    field(T.overdueDays, overdue), field(T.intakeDays, intake),
    button(T.save, { cls: "btn primary", icon: "check", onClick: () => guard(() => api.put("/api/village/settings",
      { overdue_days: Number(overdue.value), intake_days: Number(intake.value) }), T.saved) })));
}

(async () => {
  try {
    const r = await api.get("/api/session");
    if (r.session.role === "manager") return start();
  } catch { /* not signed in */ }
  showLogin();
})();
