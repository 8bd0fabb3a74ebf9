// The manager's 预约 tab: a day's appointments, and booking one for a caller on the phone. The
// caller's name and number typed here are the only unmasked personal data on the page, cleared once sent.
import T from "../i18n/manager.js";
import { icon } from "./icons.js";
import { addDays, confirm, hallOffset, pad, todayIso } from "./manager_admin_kit.js";
import { badge, card, dataTable, field, fmt, select, tabPanel } from "./staff.js";
import { busyAction, button, clear, dateInput, h, hallTime } from "./ui.js";

/** Half-hour slots of a day; for today only those that have not ended. */
function slots(day) {
  const out = [];
  const t = hallTime();
  const nowMin = day === todayIso() ? t.hour * 60 + t.minute : -1;
  for (let m = 8 * 60 + 30; m < 17 * 60 + 30; m += 30) {
    if (m + 30 <= nowMin) continue;
    if (m >= 12 * 60 && m < 14 * 60) continue;       // the usual lunch break
    const a = `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
    const b = `${pad(Math.floor((m + 30) / 60))}:${pad((m + 30) % 60)}`;
    out.push([`${a}-${b}`, `${a}–${b}`]);
  }
  return out;
}

export function appointmentsPanel(ctx) {
  const list = h("div", { "data-testid": "appointments" });
  const result = h("div", { "data-testid": "appt-result" });
  const day = dateInput({ value: todayIso(), testid: "appt-day",
    onchange: () => panel.load() });
  const A = T.apptCols;
  const panel = tabPanel({
    id: "appointments", icon: "phone", guarded: ctx.guarded,
    mount(node) {
      const cat = select(ctx.page.categories.map((c) => [c.prefix, `${c.prefix} ${c.name}`]), { testid: "appt-category" });
      const item = select([["", T.apptItemNone]], { testid: "appt-item" });
      const loadItems = async () => {
        try {
          const r = await ctx.api.get(`/api/catalog/items?category=${cat.value}&limit=200`);
          clear(item, h("option", { value: "", text: T.apptItemNone }),
            r.items.filter((i) => i.appointment).map((i) => h("option", { value: i.impl_code, text: i.name })));
        } catch { /* no catalog: book by category only */ }
      };
      cat.addEventListener("change", loadItems);
      loadItems();
      // today while a slot is left, else tomorrow
      const first = slots(todayIso()).length ? todayIso() : addDays(todayIso(), 1);
      const date = dateInput({ min: todayIso(), value: first, testid: "appt-date" });
      const slot = select(slots(first), { testid: "appt-slot" });
      date.addEventListener("change", () => {
        const keep = slot.value;
        clear(slot, slots(date.value).map(([v, label]) => h("option", { value: v, text: label })));
        if ([...slot.options].some((o) => o.value === keep)) slot.value = keep;
      });
      const name = h("input", { type: "text", maxlength: 50, autocomplete: "off", "data-testid": "appt-name" });
      const phone = h("input", { type: "tel", maxlength: 20, autocomplete: "off", "data-testid": "appt-phone" });
      const go = button(T.apptSubmit, { icon: "check", cls: "btn primary", attrs: { "data-testid": "appt-submit" },
        onClick: () => busyAction(go, async () => {
          clear(result);
          if (!cat.value || !date.value || !slot.value || !name.value.trim() || !phone.value.trim()) {
            ctx.toast(T.apptNeed, "bad");
            return;
          }
          const [a, b] = slot.value.split("-");
          const off = hallOffset();
          const req = { category: cat.value, slot_start: `${date.value}T${a}:00${off}`,
            slot_end: `${date.value}T${b}:00${off}`, name: name.value.trim(), phone: phone.value.trim() };
          if (item.value) {
            req.item_code = item.value;
            req.item_name = item.selectedOptions[0].textContent;
          }
          const r = await ctx.api.post("/api/appointments", req);
          name.value = "";        // the caller's name and number leave the screen once booked
          phone.value = "";
          const ap = r.appointment;
          clear(result, h("div", { class: "note ok" }, icon("check"),
            h("span", { text: T.apptDone(ap.code, `${ap.service_date} ${fmt.hhmm(ap.slot_start)}`) })));
          day.value = ap.service_date;
          await panel.load();
        }) });
      node.append(h("div", { class: "two-col" },
        card(T.apptTitle, "phone", { tools: [field(T.apptDay, day)] }, h("p", { class: "muted", text: T.apptHint }), list),
        card(T.apptBook, "appointment", { cls: "side-col" }, h("div", { class: "form-grid" },
          field(T.apptCategory, cat, { wide: true }), field(T.apptItem, item, { wide: true }),
          field(T.apptDate, date), field(T.apptSlot, slot), field(T.apptName, name), field(T.apptPhone, phone)),
        go, result)));
    },
    live: true,
    fetch: () => ctx.api.get(`/api/appointments?day=${day.value || todayIso()}`),
    render: async (r) => {
      clear(list, dataTable([
        { label: A.slot, get: (x) => `${fmt.hhmm(x.slot_start)}–${fmt.hhmm(x.slot_end)}` },
        { label: A.code, get: (x) => h("code", { text: x.code }) },
        { label: A.category, get: (x) => `${x.category} ${x.category_name}` },
        { label: A.item, get: (x) => x.item_name || "—" },
        { label: A.name, get: (x) => x.name },
        { label: A.phone, get: (x) => x.phone },
        { label: A.source, get: (x) => T.apptSources[x.source] || x.source },
        { label: A.state, get: (x) => badge(x.state_name, x.state === "checked_in" ? "ok" : x.state === "booked" ? "" : "warn") },
        { label: "", get: (x) => (x.state === "booked" ? button(T.apptCancel, { cls: "btn small danger",
          onClick: () => confirm(T.apptCancel, T.apptCancelConfirm(x.code), T.apptCancel, async () => {
            await ctx.api.post(`/api/appointments/${x.id}/cancel`, {});
            ctx.toast(T.apptCancelled, "ok");
            await panel.load();
          }) }) : "") },
      ], r.appointments, { empty: T.apptNone, testid: "appt-table" }));
    },
  });
  return panel;
}
