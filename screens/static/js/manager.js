// The hall manager's page (/manager): live windows and queue with warnings (预警),
// today's and a month's figures with charts drawn here (no internet), per-window
// and per-clerk performance (绩效), and the monthly report (一月一通报). The other
// tabs (attendance, roster, notices, rectification, appointments, cases) live in
// manager_admin.js. Sign-in and role: staff.js; words: i18n/manager.js.
import T from "../i18n/manager.js";
import { barChart, stackedBars } from "./charts.js";
import { icon } from "./icons.js";
import { LiveStream } from "./live.js";
import { adminPanels } from "./manager_admin.js";
import { auditPanel } from "./manager_audit.js";
import { broadcastPanel, overTargetBadge, targetsCard } from "./manager_broadcast.js";
import { excelLinks } from "./manager_excel.js";
import { facesPanel } from "./manager_photos.js";
import {
  StaffPage, addMonths, badge, card, coalesce, dataTable, every, fmt, guardedLoader, kpi, monthDays, monthOf, tabs,
} from "./staff.js";
import { button, clear, h, hallTime, toast } from "./ui.js";

const LEVEL_CLS = ["c1", "c2", "c3", "c4", "c5"];
const LEVEL_SERIES = T.levels.map((name, i) => ({ name, cls: LEVEL_CLS[i] }));

const state = { live: null, alertsPoll: null, tabs: null, panels: [], alerts: [] };

const staffPage = new StaffPage({ role: "manager", T, onStart: start, onStop: stop });
const ctx = {
  T,
  page: staffPage.page,
  get api() { return staffPage.api; },
  month: monthOf(hallTime()),
  session: null,
  badge: (id, n, kind) => state.tabs && state.tabs.badge(id, n, kind),
  toast,
  monthBar: (onChange, o) => monthBar(onChange, o),
  guarded: (fn) => guarded(fn),
};

// ---------------------------------------------------------------------- frame
const alertBand = h("div", { class: "banner alert-band", hidden: true, role: "alert", "data-testid": "alert-band" });
staffPage.banners.append(alertBand);
const status = h("div", { class: "status-line", role: "status", "data-testid": "status" });
const liveDot = h("span", { class: "live-dot", "data-testid": "live-state" });

function showAlerts(list) {
  state.alerts = list;
  alertBand.hidden = !list.length;
  clear(alertBand, icon("alert"), h("strong", { text: T.alertBand(list.length) }),
    h("span", { class: "alert-text", text: list.map((a) => a.message).join("；") }));
}

/** Loads a panel's data, shows failures as a toast, stamps the footer after the live dot. */
const guarded = guardedLoader(T, status, liveDot);

function start(session) {
  ctx.session = session;
  state.panels = [livePanel(), monthPanel(), perfPanel(), ...adminPanels(ctx), broadcastPanel(ctx), facesPanel(ctx), auditPanel(ctx)];
  for (const p of state.panels) p.label = T.tabs[p.id];
  state.tabs = tabs(staffPage.stage, state.panels);
  clear(staffPage.footbar, status);
  liveDot.textContent = T.liveOn;
  const reload = coalesce(() => { for (const p of state.panels) if (p.loaded) p.onLive?.(); }, 1500);
  state.live = new LiveStream({
    kinds: ["ticket.issued", "ticket.called", "ticket.updated", "window.updated", "rating.recorded",
      "rectification.updated", "notices.changed", "appointment.updated", "case.updated", "complaint.new"],
    onSnapshot: () => reload(),
    onEvent: () => reload(),
    onStatus: (s) => {
      staffPage.offline.show(s === "down");
      liveDot.textContent = s === "down" ? T.liveDown : T.liveOn;
      liveDot.classList.toggle("down", s === "down");
    },
  }).start();
  // waits grow and posts empty with no event: ask for warnings every 20 s as well
  state.alertsPoll = every(20000, async () => showAlerts((await ctx.api.get("/api/manage/alerts")).alerts));
  state.alertsPoll.start();
}

function stop() {
  if (state.live) state.live.stop();
  if (state.alertsPoll) state.alertsPoll.stop();
  state.live = null;
  showAlerts([]);
}

/** Month picker shared by the month, performance and attendance tabs (ctx.monthBar). */
function monthBar(onChange, { extra = [] } = {}) {
  const label = h("strong", { class: "month-label", "data-testid": "month-label", text: T.monthLabel(ctx.month) });
  const go = (m) => {
    ctx.month = m;
    label.textContent = T.monthLabel(m);
    onChange(m);
  };
  return h("div", { class: "month-bar" },
    button(T.prevMonth, { icon: "back", cls: "btn small", attrs: { "data-testid": "month-prev" },
      onClick: () => go(addMonths(ctx.month, -1)) }),
    label,
    button(T.nextMonth, { icon: "next", cls: "btn small", attrs: { "data-testid": "month-next" },
      onClick: () => go(addMonths(ctx.month, 1)) }),
    button(T.thisMonth, { cls: "btn small", onClick: () => go(monthOf(hallTime())) }),
    h("span", { class: "grow" }), ...extra);
}

// ---------------------------------------------------------------------- live overview
function windowCard(w, snap) {
  const waiting = snap.categories.filter((c) => w.categories.includes(c.prefix)).reduce((a, c) => a + c.waiting, 0);
  let st;
  if (w.empty_post) st = ["empty", "bad", "alert"];
  else if (!w.clerk_id) st = ["closed", "", "user"];
  else if (w.paused) st = ["paused", "warn", "pause"];
  else if (w.current && w.current.state === "serving") st = ["serving", "ok", "start"];
  else if (w.current) st = ["called", "ok", "call"];
  else st = ["idle", "", "check"];
  const [key, kind, ic] = st;
  return h("div", { class: `win-card st-${key}`, "data-testid": `win-${w.number}`, "data-state": key },
    h("div", { class: "win-head" }, h("span", { class: "win-no", text: w.number }),
      h("span", { class: "win-name", text: w.name }), badge(T.win[key], kind, ic)),
    h("div", { class: "win-clerk", text: w.clerk_id ? T.win.clerk(w.clerk_name, w.post) : T.win.noClerk }),
    h("div", { class: "win-current" }, w.current ? h("span", { class: "win-ticket", text: w.current.number }) : null,
      w.paused ? h("span", { class: "muted", text: T.win.pauseReason(w.pause_reason) }) : null),
    h("div", { class: "win-foot muted" }, h("span", { text: T.win.cats(w.categories.join(" ")) }),
      h("span", { text: T.win.waiting(waiting) })));
}

function satisfactionChart(rec, testid) {
  const rows = (rec ? rec.windows : []).map((w) => ({
    label: T.windowLabel(w.window),
    parts: T.levels.map((l) => w.levels[l] || 0),
    right: w.ratings ? T.satRight(w.satisfaction_rate, w.ratings) : "",
  }));
  return stackedBars({ rows, series: LEVEL_SERIES, label: T.satLabel, empty: T.noRatings, width: 640, testid });
}

function hourChart(perHour, testid) {
  return barChart({ groups: perHour.map((x) => ({ label: String(x.hour), values: [x.issued] })),
    series: [{ name: T.seriesIssued, cls: "c1" }], label: T.perHourLabel, empty: T.noData, testid });
}

function waitChart(dist, testid) {
  return barChart({ groups: dist.map((x) => ({ label: x.minutes, values: [x.count] })),
    series: [{ name: T.seriesIssued, cls: "c2" }], label: T.waitDistLabel, empty: T.noData, testid });
}

function livePanel() {
  const kpis = h("div", { class: "kpis", "data-testid": "today-kpis" });
  const windows = h("div", { class: "win-grid", "data-testid": "windows" });
  const queue = h("ul", { class: "queue-list", "data-testid": "queue" });
  const alerts = h("div", { class: "alert-list", "data-testid": "alerts" });
  const duty = h("div", { class: "duty", "data-testid": "duty-today" });
  const cHour = h("div", { class: "chart-box" });
  const cWait = h("div", { class: "chart-box" });
  const cSat = h("div", { class: "chart-box" });
  const panel = {
    id: "live", icon: "board", loaded: false,
    mount(node) {
      node.append(kpis,
        h("div", { class: "live-grid" },
          card(T.windowsTitle, "board", { cls: "windows-card", tools: [duty] }, windows),
          h("div", { class: "side-col" },
            card(T.alertsTitle, "alert", { cls: "alerts-card" }, alerts),
            card(T.queueTitle, "people", {}, queue))),
        h("div", { class: "charts-row" },
          card(T.perHourTitle, "clock", {}, cHour),
          card(T.waitDistTitle, "clock", {}, cWait),
          card(T.satTitle, "star", {}, cSat)));
    },
    show() { panel.load(); },
    onLive() { if (panel.visible) panel.load(); },
    hide() {},
    async load() {
      await guarded(async () => {
        const [ov, rec, open] = await Promise.all([
          ctx.api.get("/api/manage/overview"),
          ctx.api.get("/api/records/figures").catch(() => null),
          ctx.api.get("/api/rectifications?open=1").catch(() => null),
        ]);
        panel.loaded = true;
        render(ov, rec, open ? open.rectifications.length : 0);
      });
    },
  };

  function render(ov, rec, openRect) {
    const snap = ov.snapshot;
    const f = ov.today.total;
    const r = rec ? rec.total : null;
    const waiting = snap.categories.reduce((a, c) => a + c.waiting, 0);
    const onPost = snap.windows.filter((w) => w.clerk_id).length;
    clear(kpis,
      kpi(T.kpi.issued, fmt.num(f.issued), { testid: "kpi-issued" }),
      kpi(T.kpi.served, fmt.num(f.served), { testid: "kpi-served" }),
      kpi(T.kpi.waiting, fmt.num(waiting), { note: T.kpi.waitingNote(onPost), testid: "kpi-waiting" }),
      kpi(T.kpi.noShow, fmt.pct(f.no_show_rate), { note: T.kpi.noShowNote(f.no_show), testid: "kpi-noshow" }),
      kpi(T.kpi.wait, fmt.min(f.mean_wait_minutes), { testid: "kpi-wait" }),
      kpi(T.kpi.service, fmt.min(f.mean_service_minutes), { testid: "kpi-service" }),
      kpi(T.kpi.ratingRate, r ? fmt.pct(r.rating_rate) : "—",
        { note: r ? T.kpi.ratedNote(r.rated, r.served) : "", testid: "kpi-rating-rate" }),
      kpi(T.kpi.satisfaction, r ? fmt.pct(r.satisfaction_rate) : "—",
        { note: r ? T.kpi.satNote(r.ratings) : "", testid: "kpi-satisfaction" }),
      kpi(T.kpi.bad, r ? fmt.num(r.bad) : "—", { note: T.kpi.badNote(openRect), kind: r && r.bad ? "bad" : "",
        testid: "kpi-bad" }));
    clear(windows, snap.windows.map((w) => windowCard(w, snap)));
    const most = Math.max(1, ...snap.categories.map((c) => c.waiting));
    clear(queue, snap.categories.map((c) => h("li", { "data-testid": `queue-${c.prefix}` },
      h("span", { class: "w-prefix", text: c.prefix }),
      h("span", { class: "q-name", text: c.name }),
      h("span", { class: "q-bar" }, h("span", { style: { width: `${(c.waiting / most) * 100}%` } })),
      h("span", { class: "q-count", text: c.full ? T.queueFull : T.queueRow(c.waiting, c.wait_minutes) }),
      overTargetBadge(ov.targets, c.prefix))));
    showAlerts(ov.alerts);
    clear(alerts, ov.alerts.length
      ? ov.alerts.map((a) => h("div", { class: `alert-item ${a.level === "high" ? "bad" : "warn"}` },
        icon("alert"), badge(T.alertKinds[a.kind] || a.kind, a.level === "high" ? "bad" : "warn"),
        h("span", { text: a.message })))
      : h("div", { class: "ok-line" }, icon("check"), T.alertsNone));
    clear(duty, ov.roster_today.length
      ? [h("span", { class: "duty-label", text: T.dutyTitle }),
        ...ov.roster_today.map((d) => h("span", { class: "chip-static" }, icon("user"), d.name))]
      : null);
    clear(cHour, hourChart(ov.today.per_hour, "chart-per-hour"));
    clear(cWait, waitChart(ov.today.wait_distribution, "chart-wait"));
    clear(cSat, satisfactionChart(rec, "chart-satisfaction"));
    ctx.badge("rectify", openRect, "bad");
  }
  return panel;
}

// ---------------------------------------------------------------------- month view + report
/**
 * A tab of one month's figures (queue and records) under the month picker. It loads when shown for
 * another month than the one it holds, and on live events only while it holds the current month.
 */
function monthFiguresPanel(id, iconName, content, render) {
  let shown = null;
  const panel = {
    id, icon: iconName, loaded: false,
    mount(node) { node.append(monthBar(() => panel.load()), ...content()); },
    show() { if (shown !== ctx.month) panel.load(); },
    onLive() { if (!panel.hidden && shown === monthOf(hallTime())) panel.load(); },
    async load() {
      const m = ctx.month;
      await guarded(async () => {
        const [f, rec] = await Promise.all([ctx.api.get(`/api/manage/figures?month=${m}`),
          ctx.api.get(`/api/records/figures?period=${m}`).catch(() => null)]);
        panel.loaded = true;
        shown = m;
        render(m, f, rec);
      });
    },
  };
  return panel;
}

function monthPanel() {
  const kpis = h("div", { class: "kpis kpis-month", "data-testid": "month-kpis" });
  const cDay = h("div", { class: "chart-box wide" });
  const cHour = h("div", { class: "chart-box" });
  const cWait = h("div", { class: "chart-box" });
  const cSat = h("div", { class: "chart-box" });
  const reportLinks = h("div", { class: "report-links" });
  const defs = h("dl", { class: "defs" });
  const targetsBox = h("div", { "data-testid": "month-targets" });
  const panel = monthFiguresPanel("month", "list", () => [kpis,
    h("div", { class: "month-grid" },
      card(T.perDayTitle, "list", { cls: "span2" }, cDay),
      card(T.reportTitle, "rules", { testid: "report-card" }, h("p", { class: "muted", text: T.reportHint }),
        reportLinks, defs)),
    h("div", { class: "charts-row" },
      card(T.monthPerHourTitle, "clock", {}, cHour),
      card(T.waitDistTitle, "clock", {}, cWait),
      card(T.satTitle, "star", {}, cSat)), targetsBox], render);

  function render(m, f, rec) {
    const t = f.total;
    const r = rec ? rec.total : null;
    const c = rec ? rec.cases : null;
    const complaints = rec ? Object.values(rec.complaints || {}).reduce((a, b) => a + (typeof b === "number" ? b : 0), 0) : 0;
    const K = T.monthKpi;
    clear(kpis,
      kpi(K.issued, fmt.num(t.issued)), kpi(K.served, fmt.num(t.served)), kpi(K.noShow, fmt.pct(t.no_show_rate)),
      kpi(K.wait, fmt.min(t.mean_wait_minutes)), kpi(K.service, fmt.min(t.mean_service_minutes)),
      kpi(K.ratings, r ? fmt.num(r.ratings) : "—"), kpi(K.ratingRate, r ? fmt.pct(r.rating_rate) : "—"),
      kpi(K.satisfaction, r ? fmt.pct(r.satisfaction_rate) : "—"),
      kpi(K.bad, r ? fmt.num(r.bad) : "—", { kind: r && r.bad ? "bad" : "" }),
      kpi(K.cases, c ? fmt.num(c.accepted) : "—"),
      kpi(K.casesLate, c ? fmt.num(c.finished_late) : "—", { kind: c && c.finished_late ? "bad" : "" }),
      kpi(K.complaints, fmt.num(complaints)));
    const byDay = new Map(f.days.map((d) => [d.date, d]));
    const groups = [];
    for (let d = 1; d <= monthDays(m); d += 1) {
      const key = `${m}-${String(d).padStart(2, "0")}`;
      const x = byDay.get(key);
      groups.push({ label: T.dayLabel(key), values: [x ? x.issued : 0, x ? x.served : 0] });
    }
    clear(cDay, barChart({ groups, series: [{ name: T.seriesIssued, cls: "c1" }, { name: T.seriesServed, cls: "c2" }],
      label: T.perDayLabel, labelEvery: 2, empty: T.noData, width: 1100, height: 260, testid: "chart-per-day" }));
    clear(cHour, hourChart(f.per_hour, "chart-month-hour"));
    clear(cWait, waitChart(f.wait_distribution, "chart-month-wait"));
    clear(cSat, satisfactionChart(rec, "chart-month-satisfaction"));
    clear(targetsBox, targetsCard(f));
    clear(reportLinks,
      h("a", { class: "btn primary", href: `/manager/report?month=${m}`, target: "_blank", rel: "noopener",
        "data-testid": "open-report" }, icon("printer"), h("span", { class: "label", text: T.printReport })),
      h("a", { class: "btn", href: `/api/manage/report?month=${m}&format=csv`, download: `report-${m}.csv`,
        "data-testid": "report-csv" }, icon("list"), h("span", { class: "label", text: T.reportCsv })),
      excelLinks(m),
      h("div", { class: "exports" }, h("div", { class: "field-label", text: T.exportsTitle }),
        h("div", { class: "row" }, Object.entries(T.exports).map(([kind, label]) => h("a", {
          class: "btn small", href: `/api/records/export/${kind}?month=${m}`, download: `${kind}-${m}.csv`,
          "data-testid": `export-${kind}` }, label)))));
    clear(defs, rec ? Object.entries(rec.definitions || {}).flatMap(([k, v]) => [
      h("dt", { text: { bad: T.monthKpi.bad, rating_rate: T.monthKpi.ratingRate,
        satisfaction_rate: T.monthKpi.satisfaction }[k] || k }), h("dd", { text: v })]) : []);
  }
  return panel;
}

// ---------------------------------------------------------------------- performance (绩效)
function perfPanel() {
  const wins = h("div", { "data-testid": "perf-windows" });
  const clerks = h("div", { "data-testid": "perf-clerks" });
  const C = T.col;
  const panel = monthFiguresPanel("perf", "people", () => [
    card(T.perfWindows, "board", {}, wins), card(T.perfClerks, "user", {}, clerks)], (m, f, rec) => render(f, rec));
  const servedBar = (n, most) => h("span", { class: "cell-bar" },
    h("span", { class: "fill", style: { width: `${most ? (n / most) * 100 : 0}%` } }), h("span", { text: n }));
  const ratingCols = [
    { label: C.ratings, num: true, get: (x) => fmt.num(x.r ? x.r.ratings : 0) },
    { label: C.ratingRate, num: true, get: (x) => fmt.pct(x.r ? x.r.rating_rate : null) },
    { label: C.satisfaction, num: true, get: (x) => fmt.pct(x.r ? x.r.satisfaction_rate : null) },
    { label: C.bad, num: true, get: (x) => (x.r && x.r.bad ? badge(String(x.r.bad), "bad") : "0") },
  ];
  function render(f, rec) {
    const rw = new Map((rec ? rec.windows : []).map((w) => [w.window, w]));
    const rc = new Map((rec ? rec.clerks : []).map((c) => [c.clerk, c]));
    const mostW = Math.max(0, ...f.windows.map((w) => w.served));
    const mostC = Math.max(0, ...f.clerks.map((c) => c.served));
    const queueCols = (most) => [
      { label: C.issued, num: true, get: (x) => fmt.num(x.issued) },
      { label: C.served, num: true, get: (x) => servedBar(x.served, most) },
      { label: C.noShow, num: true, get: (x) => fmt.num(x.no_show) },
      { label: C.noShowRate, num: true, get: (x) => fmt.pct(x.no_show_rate) },
      { label: C.transferred, num: true, get: (x) => fmt.num(x.transferred) },
      { label: C.wait, num: true, get: (x) => fmt.min(x.mean_wait_minutes) },
      { label: C.service, num: true, get: (x) => fmt.min(x.mean_service_minutes) },
    ];
    clear(wins, dataTable([{ label: C.window, get: (x) => T.windowLabel(x.window) }, ...queueCols(mostW), ...ratingCols],
      f.windows.map((w) => ({ ...w, r: rw.get(w.window) })), { testid: "perf-windows-table" }));
    const rows = f.clerks.map((c) => ({ ...c, r: rc.get(c.staff_id) })).sort((a, b) => b.served - a.served);
    clear(clerks, dataTable([{ label: C.clerk, get: (x) => x.name }, { label: C.post, get: (x) => T.postName(x.post) },
      ...queueCols(mostC), ...ratingCols], rows, { testid: "perf-clerks-table", empty: T.noData }));
  }
  return panel;
}

staffPage.boot();
