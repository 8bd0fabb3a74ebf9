// Excel (.xlsx) report downloads on the manager's month tab: the day's report (日报), the monthly report
// (一月一通报), per-clerk performance, ratings and rectification, cases and deadlines. The service builds
// them from the same figures as the page and audits every download; words: i18n/manager.js.
import T from "../i18n/manager.js";
import { icon } from "./icons.js";
import { dateInput, h, hallTime } from "./ui.js";

const pad = (n) => String(n).padStart(2, "0");

/** Download links for month `m` ("YYYY-MM"), plus the day report for a chosen date. */
export function excelLinks(m) {
  const X = T.excel;
  const t = hallTime();
  const today = `${t.year}-${pad(t.month)}-${pad(t.day)}`;
  const link = (kind, q) => h("a", { class: "btn small", href: `/api/manage/xlsx/${kind}?${q}`,
    download: `${kind}-${q.split("=")[1]}.xlsx`, "data-testid": `xlsx-${kind}` }, icon("list"),
  h("span", { class: "label", text: X.kinds[kind] }));
  const dayLink = link("daily", `date=${today}`);
  // a Chinese-format date box whatever the browser's language (ui.js), labelled for screen readers
  const day = dateInput({ value: today, max: today, testid: "xlsx-day",
    onchange: () => { if (/^\d{4}-\d{2}-\d{2}$/.test(day.value)) dayLink.href = `/api/manage/xlsx/daily?date=${day.value}`; } });
  return h("div", { class: "exports", "data-testid": "xlsx-links" },
    h("div", { class: "field-label", text: X.title }),
    h("div", { class: "row" }, ["monthly", "clerks", "ratings", "cases"].map((k) => link(k, `month=${m}`))),
    h("div", { class: "row" }, h("label", { class: "field" }, h("span", { class: "field-label", text: X.dayLabel }), day),
      dayLink),
    h("p", { class: "muted small", text: X.hint }));
}
