// The manager's 整改 tab: 差评 rectification step by step (reply, verify, close) and the complaint box.
import T from "../i18n/manager.js";
import { badge, card, fmt, tabPanel } from "./staff.js";
import { busyAction, button, clear, h } from "./ui.js";

export function rectifyPanel(ctx) {
  let openOnly = true;
  const list = h("div", { class: "rect-list", "data-testid": "rectifications" });
  const complaints = h("div", { class: "complaint-list", "data-testid": "complaints" });
  const filter = h("div", { class: "chips" });
  const panel = tabPanel({
    id: "rectify", icon: "alert", guarded: ctx.guarded,
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
    live: true,
    fetch: () => Promise.all([ctx.api.get(`/api/rectifications${openOnly ? "?open=1" : ""}`),
      ctx.api.get("/api/complaints")]),
    render: ([r, c]) => {
      render(r.rectifications, r.reason_pending || 0);
      renderComplaints(c.complaints);
    },
  });
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
