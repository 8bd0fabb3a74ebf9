// The manager's audit tab (审计日志, 等保2.0): who did what, when, from where and on which
// device; filter by person, action and dates, page back, export CSV, and check the hash chain.
// Rows arrive masked from the server; words: i18n/manager.js (T.audit).
import T from "../i18n/manager.js";
import { badge, card, dataTable, field, select, tabPanel } from "./staff.js";
import { button, clear, dateInput, h, hallTime } from "./ui.js";

const pad = (n) => String(n).padStart(2, "0");

function todayIso() {
  const t = hallTime();
  return `${t.year}-${pad(t.month)}-${pad(t.day)}`;
}

function qs(params) {
  const out = Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  return out.length ? `?${new URLSearchParams(out)}` : "";
}

export function auditPanel(ctx) {
  const A = T.audit;
  const actor = select([["", A.anyone]], { testid: "audit-actor" });
  const action = select([["", A.anyAction], ...Object.entries(A.groups)], { testid: "audit-action" });
  const from = dateInput({ testid: "audit-from" });
  const to = dateInput({ testid: "audit-to" });
  const table = h("div", { "data-testid": "audit-entries" });
  const chain = h("div", { class: "row", "data-testid": "audit-chain" });
  const more = button(A.more, { icon: "next", cls: "btn", attrs: { "data-testid": "audit-more" } });
  const csv = h("a", { class: "btn", download: "audit.csv", "data-testid": "audit-csv" }, A.csv);
  let rows = [];
  let next = null;
  let actorsShown = false;

  const filters = () => ({ actor: actor.value, action: action.value, date_from: from.value, date_to: to.value });

  async function fetchPage(before) {
    const r = await ctx.api.get(`/api/audit${qs({ ...filters(), limit: 100, before_id: before })}`);
    if (!actorsShown) {
      const names = new Map(ctx.page.staff ? ctx.page.staff.map((s) => [s.id, s.name]) : []);
      for (const id of r.actors) actor.append(h("option", { value: id, text: names.has(id) ? A.who(names.get(id), id) : id }));
      actorsShown = true;
    }
    next = r.next_before_id;
    return r.entries;
  }

  function render() {
    csv.href = `/api/audit/export${qs(filters())}`;
    more.hidden = next === null;
    clear(table, dataTable([
      { label: A.cols.at, get: (e) => `${e.at.slice(0, 10)} ${e.at.slice(11, 19)}` },
      { label: A.cols.who, get: (e) => (e.actor_name ? A.who(e.actor_name, e.actor) : e.actor) },
      { label: A.cols.role, get: (e) => A.roles[e.role] || e.role || "—" },
      { label: A.cols.action, get: (e) => h("span", { title: e.action, text: A.actionName(e.action) }) },
      { label: A.cols.target, get: (e) => e.target },
      { label: A.cols.detail, cls: "wrap", get: (e) => e.detail },
      { label: A.cols.remote, get: (e) => e.remote },
      { label: A.cols.device, cls: "wrap", get: (e) => (e.device ? e.device.slice(0, 40) : "—") },
    ], rows, { empty: A.none, testid: "audit-table" }));
  }

  async function checkChain() {
    const v = await ctx.api.get("/api/audit/verify");
    clear(chain, v.ok ? badge(A.chainOk(v.rows), "ok", "check") : badge(A.chainBad(v.problems.length), "bad", "alert"),
      v.anchor ? h("span", { class: "muted", text: A.pruned(v.anchor.rows_pruned, v.anchor.pruned_before) }) : null,
      ...(v.ok ? [] : v.problems.slice(0, 5).map((p) => h("div", { class: "bad-text small", text: p }))));
  }

  const panel = tabPanel({
    id: "audit", icon: "rules", guarded: ctx.guarded,
    mount(node) {
      from.value = todayIso();
      to.value = todayIso();
      const apply = button(A.apply, { icon: "search", cls: "btn primary", attrs: { "data-testid": "audit-apply" },
        onClick: () => panel.load() });
      more.addEventListener("click", () => ctx.guarded(async () => {
        rows = rows.concat(await fetchPage(next));
        render();
      }));
      node.append(card(A.title, "rules", { tools: [csv] },
        h("p", { class: "muted", text: A.hint }),
        h("div", { class: "form-grid" }, field(A.actor, actor), field(A.action, action), field(A.from, from),
          field(A.to, to)), apply, chain, table, more));
    },
    fetch: () => fetchPage(null),
    render: async (page) => {
      rows = page;
      render();
      await checkChain();
    },
  });
  return panel;
}
