// The manager's working tabs: attendance (考勤), the holiday duty roster
// (节假日轮流值班), notices for the kiosk and board, 差评 rectification and the
// complaint box, appointments booked for callers, and cases near or past their
// promised date (限时办结). Personal data arrives masked from the server and is
// shown as it comes; the only unmasked values are what the manager types into
// the booking form, which is cleared once sent.
import C from "../i18n/common.js";
import T from "../i18n/manager.js";
import { icon } from "./icons.js";
import { badge, card, dataTable, field, fmt, monthDays, select } from "./staff.js";
import { busyAction, button, clear, dateInput, h, hallTime, modal } from "./ui.js";

const pad = (n) => String(n).padStart(2, "0");

function todayIso() {
  const t = hallTime();
  return `${t.year}-${pad(t.month)}-${pad(t.day)}`;
}

function addDays(iso, n) {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function dow(iso) {
  return new Date(`${iso}T12:00:00Z`).getUTCDay();
}

function weekday(iso) {
  return T.weekdays[dow(iso)];
}

/** The hall's UTC offset now, as "+08:00" (for the booking's slot times). */
function hallOffset() {
  const t = hallTime();
  const now = Date.now();
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
  const minutes = Math.round((asUtc - now) / 900000) * 15;
  const sign = minutes < 0 ? "-" : "+";
  const a = Math.abs(minutes);
  return `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

function confirm(title, text, label, onYes) {
  modal({ title, body: [h("p", { text })], testid: "confirm", actions: [
    { label: C.cancel, cls: "btn" },
    { label, cls: "btn primary", testid: "confirm-yes", onClick: onYes },
  ] });
}

export function adminPanels(ctx) {
  return [attendancePanel(ctx), rosterPanel(ctx), noticesPanel(ctx), rectifyPanel(ctx), appointmentsPanel(ctx),
    casesPanel(ctx)];
}

// ---------------------------------------------------------------------- attendance
function attendancePanel(ctx) {
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

// ---------------------------------------------------------------------- duty roster
function rosterPanel(ctx) {
  const list = h("div", { class: "roster-list", "data-testid": "roster" });
  const people = () => {
    const out = ctx.page.staff.map((s) => [s.id, s.name]);
    if (ctx.session && !out.some(([id]) => id === ctx.session.staff_id)) out.push([ctx.session.staff_id, ctx.session.name]);
    return out;
  };
  const panel = {
    id: "roster", icon: "appointment", loaded: false,
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
    show() { panel.load(); },
    onLive() {},
    async load() {
      await ctx.guarded(async () => {
        const r = await ctx.api.get("/api/manage/roster");
        panel.loaded = true;
        render(r.entries);
      });
    },
  };
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

// ---------------------------------------------------------------------- notices
function noticesPanel(ctx) {
  const list = h("div", { class: "notice-list", "data-testid": "notices" });
  const panel = {
    id: "notices", icon: "info", loaded: false,
    mount(node) {
      const title = h("input", { type: "text", maxlength: 100, "data-testid": "notice-title" });
      const body = h("textarea", { rows: 6, maxlength: 4000, "data-testid": "notice-body" });
      const kind = select(Object.entries(T.noticeKinds), { value: "policy", testid: "notice-kind" });
      const exp = dateInput({ min: todayIso(), testid: "notice-expires" });
      const pub = button(T.noticePublish, { icon: "check", cls: "btn primary", attrs: { "data-testid": "notice-publish" },
        onClick: () => busyAction(pub, async () => {
          if (!title.value.trim() || !body.value.trim()) { ctx.toast(T.noticeNeed, "bad"); return; }
          const req = { title: title.value.trim(), body: body.value.trim(), kind: kind.value };
          if (exp.value) req.expires_on = exp.value;
          await ctx.api.post("/api/manage/notices", req);
          title.value = "";
          body.value = "";
          exp.value = "";
          ctx.toast(T.noticePublished, "ok");
          await panel.load();
        }) });
      node.append(h("div", { class: "two-col" },
        card(T.noticesTitle, "info", {}, h("p", { class: "muted", text: T.noticesHint }), list),
        card(T.noticeNew, "suggest", { cls: "side-col" }, h("div", { class: "form-grid one" },
          field(T.noticeTitle, title), field(T.noticeKind, kind), field(T.noticeBody, body),
          field(T.noticeExpires, exp)), pub)));
    },
    show() { panel.load(); },
    onLive() { if (panel.visible) panel.load(); },
    async load() {
      await ctx.guarded(async () => {
        const r = await ctx.api.get("/api/manage/notices");
        panel.loaded = true;
        render(r.notices);
      });
    },
  };
  function render(notices) {
    const today = todayIso();
    if (!notices.length) { clear(list, h("div", { class: "empty", text: T.noticeNone })); return; }
    clear(list, notices.map((n) => {
      const st = n.withdrawn_at ? "withdrawn" : n.expires_on && n.expires_on < today ? "expired" : "active";
      return h("div", { class: `notice-item st-${st}`, "data-testid": `notice-${n.id}` },
        h("div", { class: "row" }, badge(T.noticeKinds[n.kind] || n.kind), badge(T.noticeState[st],
          st === "active" ? "ok" : "", st === "active" ? "check" : null),
        h("strong", { class: "grow", text: n.title }),
        st === "active" ? button(T.noticeWithdraw, { cls: "btn small danger", attrs: { "data-testid": `withdraw-${n.id}` },
          onClick: () => confirm(T.noticeWithdraw, T.noticeWithdrawConfirm(n.title), T.noticeWithdraw, async () => {
            await ctx.api.post(`/api/manage/notices/${n.id}/withdraw`, {});
            ctx.toast(T.noticeWithdrawn, "ok");
            await panel.load();
          }) }) : null),
        h("p", { class: "notice-body", text: n.body }),
        h("div", { class: "muted small", text: T.noticeMeta(fmt.mdhm(n.published_at), n.expires_on) }));
    }));
  }
  return panel;
}

// ---------------------------------------------------------------------- rectification + complaints
function rectifyPanel(ctx) {
  let openOnly = true;
  const list = h("div", { class: "rect-list", "data-testid": "rectifications" });
  const complaints = h("div", { class: "complaint-list", "data-testid": "complaints" });
  const filter = h("div", { class: "chips" });
  const panel = {
    id: "rectify", icon: "alert", loaded: false,
    mount(node) {
      const draw = () => clear(filter, [[true, T.rectOpenOnly], [false, T.rectAll]].map(([v, label]) =>
        h("button", { type: "button", class: "chip", "aria-pressed": String(openOnly === v), onclick: () => {
          openOnly = v;
          draw();
          panel.load();
        } }, label)));
      draw();
      node.append(h("div", { class: "two-col wide-left" },
        card(T.rectTitle, "alert", { tools: [filter] }, h("p", { class: "muted", text: T.rectHint }), list),
        card(T.complaintsTitle, "suggest", { cls: "side-col" }, complaints)));
    },
    show() { panel.load(); },
    onLive() { if (panel.visible) panel.load(); },
    async load() {
      await ctx.guarded(async () => {
        const [r, c] = await Promise.all([ctx.api.get(`/api/rectifications${openOnly ? "?open=1" : ""}`),
          ctx.api.get("/api/complaints")]);
        panel.loaded = true;
        render(r.rectifications, r.reason_pending || 0);
        renderComplaints(c.complaints);
      });
    },
  };
  const step = (id, path, bodyOf, done, btn) => busyAction(btn, async () => {
    const body = bodyOf();
    if (body === null) { ctx.toast(T.rectNeedText, "bad"); return; }
    await ctx.api.post(`/api/rectifications/${id}/${path}`, body);
    ctx.toast(done, "ok");
    await panel.load();
  });
  function render(rects, reasonPending) {
    const open = rects.filter((r) => r.state !== "已关闭").length;
    if (openOnly) ctx.badge("rectify", open, "bad");
    // keypad 差评 whose citizen has not yet said why (原因待补): counted, and marked on each task
    const pendingNote = h("div", { class: `note ${reasonPending ? "warn" : "info"}`, "data-testid": "reason-pending",
      "data-count": String(reasonPending) }, T.rectReasonPendingCount(reasonPending));
    if (!rects.length) { clear(list, pendingNote, h("div", { class: "empty", text: T.rectNone })); return; }
    clear(list, pendingNote, rects.map((x) => {
      const r = x.rating;
      const dl = x.deadline;
      const text = h("textarea", { rows: 2, maxlength: 1000, "data-testid": `rect-text-${x.id}` });
      let actions = [];
      if (x.state === "待整改") {
        text.placeholder = T.rectReplyPh;
        const b = button(T.rectReply, { cls: "btn primary small", attrs: { "data-testid": `rect-reply-${x.id}` },
          onClick: () => step(x.id, "reply", () => (text.value.trim() ? { text: text.value.trim() } : null),
            T.rectDone.reply, b) });
        actions = [text, b];
      } else if (x.state === "已回复") {
        text.placeholder = T.rectVerifyPh;
        const ok = button(T.rectVerifyPass, { cls: "btn primary small", attrs: { "data-testid": `rect-pass-${x.id}` },
          onClick: () => step(x.id, "verify", () => ({ passed: true, text: text.value.trim() || null }),
            T.rectDone.verify, ok) });
        const no = button(T.rectVerifyFail, { cls: "btn small danger", attrs: { "data-testid": `rect-fail-${x.id}` },
          onClick: () => step(x.id, "verify", () => (text.value.trim() ? { passed: false, text: text.value.trim() } : null),
            T.rectDone.verify, no) });
        actions = [text, h("div", { class: "row" }, ok, no)];
      } else if (x.state === "已核实") {
        const b = button(T.rectClose, { cls: "btn primary small", attrs: { "data-testid": `rect-close-${x.id}` },
          onClick: () => step(x.id, "close", () => ({}), T.rectDone.close, b) });
        actions = [b];
      }
      const flag = x.state === "已关闭" ? null : dl.overdue ? badge(T.rectOverdue, "bad", "alert")
        : dl.near ? badge(T.rectNear, "warn", "clock") : dl.days_left !== null ? badge(T.rectLeft(dl.days_left)) : null;
      const reasons = (r.reasons || []).map((z) => (typeof z === "string" ? z : z.text || z.code));
      return h("div", { class: `rect-item ${dl.overdue && x.state !== "已关闭" ? "overdue" : ""}`,
        "data-testid": `rect-${x.id}`, "data-state": x.state },
      h("div", { class: "row" }, badge(r.level, "bad"), badge(T.rectStates[x.state] || x.state,
        x.state === "已关闭" ? "ok" : "warn"), flag, r.reason_pending ? badge(T.rectReasonPending, "warn", "info") : null, h("span", { class: "muted grow", text: T.rectRating(r) }),
      h("span", { class: "muted", text: dl.due_at ? T.rectDue(fmt.day(dl.due_at)) : "" })),
      reasons.length ? h("div", { class: "row small" }, h("span", { class: "muted", text: `${T.rectReasons}：` }),
        reasons.map((t) => h("span", { class: "chip-static", text: t }))) : null,
      r.comment ? h("blockquote", { class: "comment" }, `${T.rectComment}：${r.comment}`) : null,
      dl.note ? h("div", { class: "muted small", text: dl.note }) : null,
      x.events.length > 1 ? h("ol", { class: "timeline" }, x.events.map((e) => h("li", {},
        h("span", { class: "muted", text: fmt.mdhm(e.at) }), ` ${T.rectActions[e.action] || e.action}`,
        e.text ? `：${e.text}` : ""))) : null,
      actions.length ? h("div", { class: "rect-actions" }, actions) : null);
    }));
  }
  function renderComplaints(items) {
    if (!items.length) { clear(complaints, h("div", { class: "empty", text: T.complaintsNone })); return; }
    clear(complaints, items.slice(0, 50).map((c) => {
      const reply = h("textarea", { rows: 2, maxlength: 1000, placeholder: T.complaintHandlePh });
      const b = c.state === "已处理" ? null : button(T.complaintHandle, { cls: "btn small",
        onClick: () => busyAction(b, async () => {
          if (!reply.value.trim()) { ctx.toast(T.rectNeedText, "bad"); return; }
          await ctx.api.post(`/api/complaints/${c.id}/handle`, { reply: reply.value.trim() });
          ctx.toast(T.complaintHandled, "ok");
          await panel.load();
        }) });
      return h("div", { class: "complaint-item", "data-testid": `complaint-${c.id}` },
        h("div", { class: "row" }, badge(c.kind, c.kind === "投诉" ? "warn" : ""),
          badge(c.state, c.state === "已处理" ? "ok" : ""), h("span", { class: "muted grow", text: fmt.mdhm(c.created_at) })),
        (c.reasons || []).length ? h("div", { class: "row small" },
          c.reasons.map((z) => h("span", { class: "chip-static", text: typeof z === "string" ? z : z.text }))) : null,
        c.text ? h("p", { class: "small", text: c.text }) : null,
        h("div", { class: "muted small", text: T.complaintContact(c.contact_name, c.contact_phone) }),
        c.reply ? h("blockquote", { class: "comment", text: c.reply }) : null,
        b ? h("div", { class: "rect-actions" }, reply, b) : null);
    }));
  }
  return panel;
}

// ---------------------------------------------------------------------- appointments
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

function appointmentsPanel(ctx) {
  const list = h("div", { "data-testid": "appointments" });
  const result = h("div", { "data-testid": "appt-result" });
  const day = dateInput({ value: todayIso(), testid: "appt-day",
    onchange: () => panel.load() });
  const A = T.apptCols;
  const panel = {
    id: "appointments", icon: "phone", loaded: false,
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
    show() { panel.load(); },
    onLive() { if (panel.visible) panel.load(); },
    async load() {
      await ctx.guarded(async () => {
        const r = await ctx.api.get(`/api/appointments?day=${day.value || todayIso()}`);
        panel.loaded = true;
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
      });
    },
  };
  return panel;
}

// ---------------------------------------------------------------------- cases near / past due
function casesPanel(ctx) {
  const box = h("div", { "data-testid": "case-alerts" });
  const counts = h("div", { class: "row" });
  const K = T.caseCols;
  const panel = {
    id: "cases", icon: "case", loaded: false,
    mount(node) { node.append(card(T.casesTitle, "case", { tools: [counts] }, box)); },
    show() { panel.load(); },
    onLive() { if (panel.visible) panel.load(); },
    async load() {
      await ctx.guarded(async () => {
        const r = await ctx.api.get("/api/cases/alerts");
        panel.loaded = true;
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
      });
    },
  };
  return panel;
}
