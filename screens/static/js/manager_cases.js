// The manager's 限时办结 tab: cases near or past their promised date.
import T from "../i18n/manager.js";
import { badge, card, dataTable, fmt, tabPanel } from "./staff.js";
import { clear, h } from "./ui.js";

export function casesPanel(ctx) {
  const box = h("div", { "data-testid": "case-alerts" });
  const counts = h("div", { class: "row" });
  const K = T.caseCols;
  const panel = tabPanel({
    id: "cases", icon: "case", guarded: ctx.guarded,
    mount(node) { node.append(card(T.casesTitle, "case", { tools: [counts] }, box)); },
    live: true,
    fetch: () => ctx.api.get("/api/cases/alerts"),
    render: (r) => {
      ctx.badge("cases", r.overdue, "bad");
      clear(counts, badge(T.casesNear(r.near), r.near ? "warn" : ""), badge(T.casesOverdue(r.overdue), r.overdue ? "bad" : ""));
      clear(box, dataTable([
        { label: K.receipt, get: (c) => h("code", { text: c.receipt_no }) },
        { label: K.item, get: (c) => c.item_name },
        { label: K.applicant, get: (c) => c.applicant.name },
        { label: K.window, get: (c) => (c.window ? T.windowLabel(c.window) : "—") },
        { label: K.clerk, get: (c) => c.clerk_name || c.clerk },
        { label: K.status, get: (c) => c.status },
        { label: K.accepted, get: (c) => fmt.mdhm(c.accepted_at) },
        { label: K.due, get: (c) => fmt.day(c.deadline.due_at) },
        { label: K.left, num: true, get: (c) => fmt.num(c.deadline.days_left) },
        { label: K.flag, get: (c) => (c.deadline.overdue ? badge(T.rectOverdue, "bad", "alert")
          : badge(T.rectNear, "warn", "clock")) },
      ], r.cases, { empty: T.casesNone, testid: "case-table" }));
    },
  });
  return panel;
}
