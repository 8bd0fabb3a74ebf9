// The manager's hall broadcast tab (大厅广播): one message to the board, LED, voice and kiosk at once,
// until it expires or is withdrawn; and the service-level target marks and table (服务时限目标) the
// live and month tabs show. The service audits every send and withdrawal; words: i18n/manager.js.
import T from "../i18n/manager.js";
import { icon } from "./icons.js";
import { badge, card, dataTable, field, fmt, select, tabPanel } from "./staff.js";
import { busyAction, button, clear, h } from "./ui.js";

const B = T.broadcast;

export function broadcastPanel(ctx) {
  const active = h("div", { class: "notice-list", "data-testid": "broadcasts-active" });
  const recent = h("div", { "data-testid": "broadcasts-recent" });
  const panel = tabPanel({
    id: "broadcast", icon: "voice", guarded: ctx.guarded,
    mount(node) {
      const message = h("textarea", { rows: 3, maxlength: 200, "data-testid": "broadcast-message" });
      const boxes = Object.entries(B.targets).map(([value, label]) => {
        const box = h("input", { type: "checkbox", value, "data-testid": `broadcast-to-${value}` });
        box.checked = value !== "voice";
        return { box, node: h("label", { class: "check" }, box, h("span", { text: label })) };
      });
      const minutes = select(B.durations.map(([m, label]) => [String(m), label]),
        { value: "30", testid: "broadcast-minutes" });
      const times = select([1, 2, 3, 4, 5].map((n) => [String(n), B.times(n)]), { value: "2", testid: "broadcast-times" });
      const every = select(B.everyChoices.map(([m, label]) => [String(m), label]), { value: "0", testid: "broadcast-every" });
      const send = button(B.send, { icon: "voice", cls: "btn primary", attrs: { "data-testid": "broadcast-send" },
        onClick: () => busyAction(send, async () => {
          const targets = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
          if (!message.value.trim()) { ctx.toast(B.needMessage, "bad"); return; }
          if (!targets.length) { ctx.toast(B.needTarget, "bad"); return; }
          await ctx.api.post("/api/manage/broadcasts", { message: message.value.trim(), targets,
            minutes: Number(minutes.value), voice_times: Number(times.value), voice_every_minutes: Number(every.value) });
          message.value = "";
          ctx.toast(B.sent, "ok");
          await panel.load();
        }) });
      node.append(h("div", { class: "two-col" },
        h("div", {}, card(B.activeTitle, "voice", {}, h("p", { class: "muted", text: B.hint }), active),
          card(B.recentTitle, "list", {}, recent)),
        card(B.newTitle, "suggest", { cls: "side-col" }, h("div", { class: "form-grid one" },
          field(B.message, message, { hint: B.messageHint }),
          field(B.to, h("div", { class: "row" }, boxes.map((b) => b.node))),
          field(B.duration, minutes), field(B.voiceTimes, times), field(B.voiceEvery, every)), send)));
    },
    live: true,
    fetch: () => ctx.api.get("/api/manage/broadcasts"),
    render: (r) => render(r),
  });
  const where = (b) => b.targets.map((t) => B.targets[t] || t).join("、");
  function render(r) {
    clear(active, r.active.length ? r.active.map((b) => h("div", { class: "notice-item st-active",
      "data-testid": `broadcast-${b.id}` },
      h("div", { class: "row" }, badge(B.on, "ok", "check"), h("strong", { class: "grow", text: b.message }),
        button(B.withdraw, { cls: "btn small danger", attrs: { "data-testid": `broadcast-withdraw-${b.id}` },
          onClick: async () => {
            await ctx.api.post(`/api/manage/broadcasts/${b.id}/withdraw`, {});
            ctx.toast(B.withdrawn, "ok");
            await panel.load();
          } })),
      h("div", { class: "muted small", text: B.meta(where(b), fmt.mdhm(b.expires_at)) })))
      : h("div", { class: "empty", text: B.none }));
    clear(recent, dataTable([
      { label: B.col.sent, get: (b) => fmt.mdhm(b.created_at) },
      { label: B.col.message, get: (b) => b.message },
      { label: B.col.to, get: (b) => where(b) },
      { label: B.col.until, get: (b) => fmt.mdhm(b.expires_at) },
      { label: B.col.state, get: (b) => (b.end_reason ? badge(B.ended[b.end_reason] || b.end_reason)
        : badge(B.on, "ok", "check")) },
    ], r.recent, { empty: B.none, testid: "broadcasts-table" }));
  }
  return panel;
}

/** The over-target mark for a category in the live queue list (words and an icon, not colour alone). */
export function overTargetBadge(targets, prefix) {
  const t = (targets || []).find((x) => x.prefix === prefix);
  if (!t || !t.over) return null;
  const el = badge(t.over_wait ? T.targets.overWait(t.longest_wait_minutes, t.target_wait_minutes)
    : T.targets.overService(t.mean_service_minutes, t.target_service_minutes), "bad", "alert");
  el.dataset.testid = `over-target-${prefix}`;
  return el;
}

/** Per-category figures against the targets for a period (share within target). */
export function targetsCard(f) {
  const X = T.targets;
  const rows = (f.categories || []).map((c) => ({ ...c,
    _cls: (c.wait_within_target !== null && c.wait_within_target < 0.8) ? "warn" : "" }));
  return card(X.title, "clock", { testid: "targets-card" },
    h("p", { class: "muted", text: X.hint(fmt.pct(f.total.wait_within_target), fmt.pct(f.total.service_within_target)) }),
    dataTable([
      { label: X.col.category, get: (c) => `${c.prefix} ${c.name}` },
      { label: X.col.targetWait, num: true, get: (c) => X.minutes(c.target_wait_minutes) },
      { label: X.col.wait, num: true, get: (c) => fmt.min(c.mean_wait_minutes) },
      { label: X.col.waitShare, num: true, get: (c) => shareCell(c.wait_within_target) },
      { label: X.col.targetService, num: true, get: (c) => X.minutes(c.target_service_minutes) },
      { label: X.col.service, num: true, get: (c) => fmt.min(c.mean_service_minutes) },
      { label: X.col.serviceShare, num: true, get: (c) => shareCell(c.service_within_target) },
    ], rows, { testid: "targets-table" }));
}

function shareCell(x) {
  if (x === null || x === undefined) return "—";
  return x < 0.8 ? h("span", {}, icon("alert"), ` ${fmt.pct(x)} `, h("span", { text: T.targets.below }))
    : fmt.pct(x);
}

/** The printed monthly report's section on the targets (一月一通报): one row per category. */
export function targetsReportSection(fig) {
  const X = T.targets;
  const cols = [
    [X.col.category, (c) => `${c.prefix} ${c.name}`], [X.col.targetWait, (c) => X.minutes(c.target_wait_minutes), true],
    [X.col.waitShare, (c) => fmt.pct(c.wait_within_target), true],
    [X.col.targetService, (c) => X.minutes(c.target_service_minutes), true],
    [X.col.serviceShare, (c) => fmt.pct(c.service_within_target), true],
  ];
  return [h("h2", { text: X.reportTitle }),
    h("p", { text: X.hint(fmt.pct(fig.total.wait_within_target), fmt.pct(fig.total.service_within_target)) }),
    h("table", { "data-testid": "report-targets" },
      h("thead", {}, h("tr", {}, cols.map(([label, , num]) => h("th", { class: num ? "num" : "", text: label })))),
      h("tbody", {}, (fig.categories || []).map((c) => h("tr", {},
        cols.map(([, get, num]) => h("td", { class: num ? "num" : "", text: get(c) }))))))];
}
