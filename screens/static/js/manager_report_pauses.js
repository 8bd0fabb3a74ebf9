// The monthly report's break-time section (离岗时长): coded pauses per clerk and reason, and per day,
// from /api/manage/pauses. manager_report.js places the returned node; it fills itself when the
// figures arrive, so the rest of the report never waits for it.
import T from "../i18n/manager_pauses.js";
import { api } from "./api.js";
import { clear, h } from "./ui.js";

const minutes = (s) => (s ? String(Math.round(s / 60)) : "0");

function table(cols, rows, testid) {
  return h("table", { "data-testid": testid },
    h("thead", {}, h("tr", {}, cols.map(([label, , num]) => h("th", { class: num ? "num" : "", text: label })))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map(([, get, num]) => h("td", { class: num ? "num" : "", text: get(r) }))))));
}

export function pauseSection(month) {
  const body = h("div", {}, h("p", { class: "muted", text: T.loading }));
  const node = h("section", { class: "report-pauses", "data-testid": "report-pauses" }, h("h2", { text: T.title }), body);
  api.get(`/api/manage/pauses?month=${month}`).then((f) => {
    const reasons = f.reasons || [];
    const byReason = reasons.map((r) => [T.col(r.label), (x) => minutes(x.by_reason[r.code]), true]);
    const days = f.days.filter((d) => d.seconds > 0);
    clear(body,
      h("p", { class: "summary", text: T.summary(Math.round(f.total.seconds / 60), f.clerks.length) }),
      f.clerks.length ? table([[T.clerk, (x) => x.name], [T.total, (x) => minutes(x.seconds), true], ...byReason],
        f.clerks, "pause-clerks") : h("p", { text: T.none }),
      days.length ? h("h3", { text: T.perDay }) : null,
      days.length ? table([[T.day, (x) => x.date], [T.total, (x) => minutes(x.seconds), true], ...byReason],
        days, "pause-days") : null);
    node.dataset.ready = "1";
  }).catch((err) => {
    clear(body, h("p", { class: "error", text: err.message }));
  });
  return node;
}
