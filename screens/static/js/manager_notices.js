// The manager's 公告 tab: notices for the kiosk and board, published with an optional expiry and withdrawn.
import T from "../i18n/manager.js";
import { confirm, todayIso } from "./manager_admin_kit.js";
import { badge, card, field, fmt, select, tabPanel } from "./staff.js";
import { busyAction, button, clear, dateInput, h } from "./ui.js";

export function noticesPanel(ctx) {
  const list = h("div", { class: "notice-list", "data-testid": "notices" });
  const panel = tabPanel({
    id: "notices", icon: "info", guarded: ctx.guarded,
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
    live: true,
    fetch: () => ctx.api.get("/api/manage/notices"),
    render: (r) => render(r.notices),
  });
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
