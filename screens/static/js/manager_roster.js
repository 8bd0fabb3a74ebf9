// The manager's 值班 tab: the holiday duty roster, one person at a time or a rotation over a period.
import T from "../i18n/manager.js";
import { icon } from "./icons.js";
import { addDays, confirm, todayIso, weekday } from "./manager_admin_kit.js";
import { card, field, select, tabPanel } from "./staff.js";
import { busyAction, button, clear, dateInput, h } from "./ui.js";

export function rosterPanel(ctx) {
  const list = h("div", { class: "roster-list", "data-testid": "roster" });
  const people = () => {
    const out = ctx.page.staff.map((s) => [s.id, s.name]);
    if (ctx.session && !out.some(([id]) => id === ctx.session.staff_id)) out.push([ctx.session.staff_id, ctx.session.name]);
    return out;
  };
  const panel = tabPanel({
    id: "roster", icon: "appointment", guarded: ctx.guarded,
    mount(node) {
      const today = todayIso();
      // add one
      const day = dateInput({ min: today, value: today, testid: "roster-day" });
      const who = select(people(), { testid: "roster-staff" });
      const note = h("input", { type: "text", maxlength: 100, "data-testid": "roster-note" });
      const add = button(T.rosterAdd, { icon: "check", cls: "btn primary", attrs: { "data-testid": "roster-add" },
        onClick: () => busyAction(add, async () => {
          await ctx.api.post("/api/manage/roster", { day: day.value, staff_id: who.value, note: note.value });
          ctx.toast(T.rosterAdded(day.value, who.selectedOptions[0].textContent), "ok");
          note.value = "";
          await panel.load();
        }) });
      // rotate
      const rs = dateInput({ min: today, value: today, testid: "rotate-start" });
      const re = dateInput({ min: today, value: addDays(today, 60), testid: "rotate-end" });
      const perDay = select([["1", "1"], ["2", "2"], ["3", "3"]], { value: "1" });
      const order = [];
      const chips = h("div", { class: "chips" });
      const drawChips = () => clear(chips, people().map(([id, name]) => {
        const i = order.indexOf(id);
        return h("button", { type: "button", class: "chip", "aria-pressed": String(i >= 0), "data-testid": `rotate-${id}`,
          onclick: () => {
            if (i >= 0) order.splice(i, 1); else order.push(id);
            drawChips();
          } }, i >= 0 ? h("span", { class: "chip-no", text: i + 1 }) : icon("box"), name);
      }));
      drawChips();
      const go = button(T.rotateGo, { icon: "recall", cls: "btn primary", attrs: { "data-testid": "rotate-go" },
        onClick: () => busyAction(go, async () => {
          if (!order.length) { ctx.toast(T.rotateNeedStaff, "bad"); return; }
          const r = await ctx.api.post("/api/manage/roster/rotate", { start: rs.value, end: re.value,
            staff_ids: order, per_day: Number(perDay.value) });
          ctx.toast(T.rotateDone(r.added.length), "ok");
          await panel.load();
        }) });
      node.append(h("div", { class: "two-col" },
        card(T.rosterTitle, "appointment", {}, h("p", { class: "muted", text: T.rosterHint }), list),
        h("div", { class: "side-col" },
          card(T.rosterAdd, "user", {}, h("div", { class: "form-grid" },
            field(T.rosterDay, day), field(T.rosterStaff, who), field(T.rosterNote, note, { wide: true })), add),
          card(T.rotateTitle, "recall", {}, h("div", { class: "form-grid" },
            field(T.rotateStart, rs), field(T.rotateEnd, re), field(T.rotatePerDay, perDay),
            field(T.rotateStaff, chips, { wide: true })), go))));
    },
    fetch: () => ctx.api.get("/api/manage/roster"),
    render: (r) => render(r.entries),
  });
  function render(entries) {
    if (!entries.length) { clear(list, h("div", { class: "empty", text: T.rosterNone })); return; }
    const byDay = new Map();
    for (const e of entries) {
      if (!byDay.has(e.day)) byDay.set(e.day, []);
      byDay.get(e.day).push(e);
    }
    clear(list, [...byDay.entries()].map(([d, es]) => h("div", { class: "roster-day", "data-testid": `roster-${d}` },
      h("div", { class: "rd-date" }, h("strong", { text: d.slice(5) }), h("span", { class: "muted", text: weekday(d) })),
      h("div", { class: "rd-people" }, es.map((e) => h("span", { class: "chip-static" }, icon("user"),
        h("span", { text: e.name }), e.note ? h("span", { class: "muted", text: `（${e.note}）` }) : null,
        h("button", { type: "button", class: "x", title: T.rosterRemove, "aria-label": `${T.rosterRemove} ${e.name}`,
          onclick: () => confirm(T.rosterRemove, T.rosterRemoveConfirm(d, e.name), T.rosterRemove, async () => {
            await ctx.api.del(`/api/manage/roster?day=${d}&staff_id=${encodeURIComponent(e.staff_id)}`);
            ctx.toast(T.rosterRemoved, "ok");
            await panel.load();
          }) }, "×")))))));
  }
  return panel;
}
