// 一月一通报: the month's report as a printable A4 document (/manager/report?month=YYYY-MM).
// It needs the manager's session (the APIs check it); without one it says where to sign in.
import T from "../i18n/manager.js";
import { ApiError, api } from "./api.js";
import { icon } from "./icons.js";
import { targetsReportSection } from "./manager_broadcast.js";
import { pauseSection } from "./manager_report_pauses.js";
import { fmt } from "./staff.js";
import { button, clear, h, hallTime, pageData } from "./ui.js";

const R = T.report;
const C = T.col;
const page = pageData();
const t = hallTime();
const month = (page.settings && page.settings.month) || `${t.year}-${String(t.month).padStart(2, "0")}`;
const tools = document.getElementById("tools");
const doc = document.getElementById("report");

const shift = (n) => {
  const i = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + n;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}`;
};
clear(tools,
  h("a", { class: "btn", href: "/manager#month" }, icon("back"), h("span", { class: "label", text: R.back })),
  h("span", { class: "grow" }),
  h("a", { class: "btn", href: `?month=${shift(-1)}` }, h("span", { class: "label", text: T.prevMonth })),
  h("strong", { class: "tools-month", text: T.monthLabel(month) }),
  h("a", { class: "btn", href: `?month=${shift(1)}` }, h("span", { class: "label", text: T.nextMonth })),
  h("span", { class: "grow" }),
  h("a", { class: "btn", href: `/api/manage/report?month=${month}&format=csv`, download: `report-${month}.csv` },
    icon("list"), h("span", { class: "label", text: R.csv })),
  button(R.print, { icon: "printer", cls: "btn primary", attrs: { "data-testid": "print" }, onClick: () => window.print() }));
clear(doc, h("p", { class: "muted", text: R.loading }));

function table(cols, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, cols.map(([label, , num]) => h("th", { class: num ? "num" : "", text: label })))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map(([, get, num]) => h("td", { class: num ? "num" : "", text: get(r) ?? "—" }))))));
}

async function load() {
  let rec;
  let fig;
  try {
    [rec, fig] = await Promise.all([api.get(`/api/records/report?month=${month}`),
      api.get(`/api/manage/report?month=${month}`)]);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      clear(doc, h("div", { class: "need-login", "data-testid": "report-login" }, h("p", { text: R.needLogin }),
        h("a", { class: "btn primary", href: "/manager" }, R.goLogin)));
      return;
    }
    clear(doc, h("p", { class: "error", text: err.message }));
    return;
  }
  render(rec, fig);
}

/** Name a best window only when there is a comparison to make and it earned the praise. */
function best(rec) {
  const rated = rec.figures.windows.filter((w) => w.ratings);
  const top = rated.find((w) => w.window === rec.best_window);
  return rated.length >= 2 && top && top.satisfaction_rate > 0;
}

function render(rec, fig) {
  const rf = rec.figures;
  const rw = new Map(rf.windows.map((w) => [w.window, w]));
  const rc = new Map(rf.clerks.map((c) => [c.clerk, c]));
  const queueCols = [
    [C.issued, (x) => x.issued, true], [C.served, (x) => x.served, true], [C.noShowRate, (x) => fmt.pct(x.no_show_rate), true],
    [C.wait, (x) => fmt.min(x.mean_wait_minutes), true], [C.service, (x) => fmt.min(x.mean_service_minutes), true],
  ];
  const ratingCols = [
    [C.ratings, (x) => (x.r ? x.r.ratings : 0), true], [C.ratingRate, (x) => fmt.pct(x.r ? x.r.rating_rate : null), true],
    [C.satisfaction, (x) => fmt.pct(x.r ? x.r.satisfaction_rate : null), true], [C.bad, (x) => (x.r ? x.r.bad : 0), true],
  ];
  const B = R.badCols;
  const L = R.lateCols;
  const topics = Object.entries(rec.complaint_topics || {});
  document.title = rec.title;
  clear(doc,
    h("header", { class: "doc-head" },
      h("h1", { "data-testid": "report-title", text: rec.title }),
      h("p", { class: "period", text: R.period(fig.start, fig.end) })),
    h("h2", { text: R.s1 }),
    h("p", { class: "summary", "data-testid": "report-summary", text: R.summary(fig.total, rf.total, rf.cases) +
      (best(rec) ? R.best(rec.best_window) : "") }),
    h("h2", { text: R.s2 }),
    table([[C.window, (x) => T.windowLabel(x.window)], ...queueCols, ...ratingCols],
      fig.windows.map((w) => ({ ...w, r: rw.get(w.window) }))),
    h("h2", { text: R.s3 }),
    table([[C.clerk, (x) => x.name], [C.post, (x) => T.postName(x.post)], ...queueCols, ...ratingCols],
      fig.clerks.map((c) => ({ ...c, r: rc.get(c.staff_id) }))),
    h("h2", { text: R.s4 }),
    rec.bad_ratings.length ? table([
      [B.at, (x) => fmt.mdhm(x.rated_at)], [B.window, (x) => (x.window ? T.windowLabel(x.window) : "—")],
      [B.clerk, (x) => x.clerk_name], [B.level, (x) => x.level], [B.reasons, (x) => x.reasons.join("、")],
      [B.channel, (x) => x.channel], [B.state, (x) => x.rectification_state || R.notRectified],
      [B.due, (x) => fmt.day(x.due_at)],
    ], rec.bad_ratings) : h("p", { text: R.noBad }),
    h("h2", { text: R.s5 }),
    rec.late_cases.length ? table([
      [L.receipt, (x) => x.receipt_no], [L.item, (x) => x.item_name], [L.window, (x) => (x.window ? T.windowLabel(x.window) : "—")],
      [L.clerk, (x) => x.clerk_name], [L.promised, (x) => fmt.day(x.promised_finish_at)], [L.finished, (x) => fmt.day(x.finished_at)],
    ], rec.late_cases) : h("p", { text: R.noLate }),
    h("h2", { text: R.s6 }),
    topics.length ? table([[R.topicCols.topic, (x) => x[0]], [R.topicCols.count, (x) => x[1], true]], topics)
      : h("p", { text: R.noComplaints }),
    pauseSection(month),
    targetsReportSection(fig),
    h("footer", { class: "doc-foot" }, h("span", { text: R.generated(rec.generated_at.slice(0, 16).replace("T", " "), page.hall) }),
      h("span", { class: "sign", text: R.sign })));
  doc.dataset.ready = "1";
}

load();
