// The manager's 考勤 tab: a month's grid of who was on post each day, and today's sign-ins.
import T from "../i18n/manager.js";
import { dow, pad, todayIso, weekday } from "./manager_admin_kit.js";
import { badge, card, dataTable, fmt, monthDays } from "./staff.js";
import { clear, h } from "./ui.js";

export function attendancePanel(ctx) {
  let shown = null;
  const grid = h("div", { class: "att-wrap", "data-testid": "attendance" });
  const todayBox = h("div", { "data-testid": "attendance-today" });
  const todayCard = card(T.attToday, "clock", {}, todayBox);
  const panel = {
    id: "attendance", icon: "people", loaded: false,
    mount(node) {
      node.append(ctx.monthBar(() => panel.load()),
        card(T.attTitle, "people", {}, h("p", { class: "muted", text: T.attHint }), grid), todayCard);
    },
    show() { if (shown !== ctx.month) panel.load(); },
    onLive() {},
    async load() {
      const m = ctx.month;
      const start = `${m}-01`;
      const today = todayIso();
      let end = `${m}-${pad(monthDays(m))}`;
      if (end > today) end = today;
      await ctx.guarded(async () => {
        const rows = start > today ? [] : (await ctx.api.get(`/api/manage/attendance?start=${start}&end=${end}`)).rows;
        panel.loaded = true;
        shown = m;
        render(m, rows, today);
      });
    },
  };
  function render(m, rows, today) {
    const n = monthDays(m);
    const by = new Map(rows.map((r) => [`${r.staff_id}/${r.date}`, r]));
    const staff = ctx.page.staff;
    const days = Array.from({ length: n }, (_, i) => `${m}-${pad(i + 1)}`);
    const head = h("tr", {}, h("th", { text: T.col.clerk }),
      days.map((d) => h("th", { class: `d ${dow(d) % 6 === 0 ? "we" : ""}` },
        h("span", { text: Number(d.slice(8)) }), h("small", { text: weekday(d).slice(1) }))),
      h("th", { class: "num", text: T.attDays }), h("th", { class: "num", text: T.attAbsentDays }),
      h("th", { class: "num", text: T.attHours }));
    const body = staff.map((s) => {
      let present = 0;
      let absent = 0;
      let minutes = 0;
      const cells = days.map((d) => {
        const r = by.get(`${s.id}/${d}`);
        if (d > today) return h("td", { class: "d future" });
        if (!r) return h("td", { class: "d rest", title: `${d} ${T.attRest}`, text: "·" });
        minutes += r.minutes_on_post;
        if (r.status === "present") {
          present += 1;
          return h("td", { class: "d present", title: T.attCell(r), text: "✓" });
        }
        absent += 1;
        return h("td", { class: "d absent", title: T.attCell(r), text: "✗" });
      });
      return h("tr", { "data-testid": `att-${s.id}` }, h("th", { class: "who-cell", text: s.name }), cells,
        h("td", { class: "num", text: present }), h("td", { class: `num ${absent ? "bad-text" : ""}`, text: absent }),
        h("td", { class: "num", text: (minutes / 60).toFixed(1) }));
    });
    clear(grid, h("table", { class: "data att" }, h("thead", {}, head), h("tbody", {}, body)),
      h("div", { class: "legend-line muted" }, `✓ ${T.attPresent}　✗ ${T.attAbsent}　· ${T.attRest}`));
    const todays = rows.filter((r) => r.date === today);
    todayCard.hidden = !todays.length;
    clear(todayBox, dataTable([
      { label: T.col.clerk, get: (r) => r.name },
      { label: T.col.post, get: (r) => T.postName(r.post) },
      { label: T.col.window, get: (r) => (r.windows.length ? r.windows.map((w) => T.windowLabel(w)).join("、") : "—") },
      { label: T.attFirst, get: (r) => fmt.hhmm(r.first_login) },
      { label: T.attLast, get: (r) => (r.on_post_now ? badge(T.attOnPost, "ok", "check") : fmt.hhmm(r.last_logout)) },
      { label: T.attHours, num: true, get: (r) => (r.minutes_on_post / 60).toFixed(1) },
      { label: "", get: (r) => badge(r.status_name, r.status === "present" ? "ok" : "bad") },
    ], todays));
  }
  return panel;
}
