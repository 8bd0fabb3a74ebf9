// The kiosk's 评价 screen, when the scanned ticket has a keypad 差评 still without a reason (原因待补):
// the citizen picks the reasons here (POST /api/ratings/reason, channel 自助终端).
import T from "../i18n/kiosk_reason.js";
import { api } from "./api.js";
import { checkMarks } from "./icons.js";
import { busyAction, button, h, toast } from "./ui.js";

/**
 * The view for the first pending rating of `view` (the token view), or null when none.
 * `frame(titleNode, ...children)` builds the kiosk screen; `onDone(title, sub)` shows the thanks screen.
 */
export function pendingReasonView(view, token, { frame, title, onDone }) {
  const p = (view.pending || [])[0];
  if (!p) return null;
  const chosen = new Set();
  const chips = h("div", { class: "chips", "data-testid": "pending-reasons" }, (view.reasons || []).map((r) =>
    h("button", { type: "button", class: "chip", "data-speak": r.text, "aria-pressed": "false",
      "data-reason": r.code, onclick: (e) => {
        const on = !chosen.has(r.code);
        if (on) chosen.add(r.code); else chosen.delete(r.code);
        e.currentTarget.setAttribute("aria-pressed", String(on));
      } }, checkMarks(), r.text)));
  const submit = button(T.submit, { icon: "check", cls: "btn primary main", attrs: { "data-testid": "pending-submit" },
    onClick: () => send() });
  async function send() {
    if (!chosen.size) { toast(T.need, "bad"); return; }
    await busyAction(submit, async () => {
      await api.post("/api/ratings/reason", { token, rating_id: p.rating_id, reasons: [...chosen], channel: "自助终端" });
      onDone(T.thanks, T.thanksSub);
    });
  }
  const node = frame(title("rate", T.title, T.sub(p.level, p.window)),
    h("div", { class: "reasons" }, chips), h("div", { class: "row" }, submit));
  return { node, speak: T.speak, busy: () => chosen.size > 0 };
}
