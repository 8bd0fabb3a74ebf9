// The window tablet offers a keypad 差评's missing reason (原因待补): after a keypad rating at this window
// ("rating.recorded"), the tablet asks the service whether one is pending and, if so, shows the reasons.
import T from "../i18n/evaluator.js";
import { api, getOptional } from "./api.js";
import { checkMarks, icon } from "./icons.js";
import { clear, h, toast } from "./ui.js";

/**
 * The reason chips of a 差评 (right after the rating, or later when the keypad's reason is pending):
 * pressing one toggles its code in `chosen`, then `onChange()` runs.
 */
export function reasonChips(reasons, chosen, testid, onChange) {
  return h("div", { class: "chips", "data-testid": testid }, reasons.map((r) => h("button", {
    type: "button", class: "chip", "aria-pressed": "false", "data-reason": r.code, onclick: (e) => {
      const on = !chosen.has(r.code);
      if (on) chosen.add(r.code); else chosen.delete(r.code);
      e.currentTarget.setAttribute("aria-pressed", String(on));
      onChange();
    } }, checkMarks(), r.text)));
}

/**
 * Ask for a pending reason and show the picker when there is one; `done()` returns the tablet to idle.
 * @returns {Promise<boolean>} whether the picker is shown
 */
export async function offerPendingReason({ windowNo, stage, reasons, speak, done }) {
  let pending = null;
  try {
    const r = await getOptional(`/api/evaluator/${windowNo}/pending-reason`);
    pending = r && r.pending;
  } catch { pending = null; }
  if (!pending) return false;
  const chosen = new Set();
  const send = h("button", { type: "button", class: "btn primary main", "data-testid": "pending-submit", disabled: true,
    onclick: async () => {
      send.disabled = true;
      try {
        await api.post(`/api/evaluator/${windowNo}/reason`, { rating_id: pending.rating_id, reasons: [...chosen] });
        done(true);
      } catch (err) {
        toast(err.message || T.failed, "bad");
        send.disabled = false;
      }
    } }, icon("check"), T.pendingSubmit);
  const chips = reasonChips(reasons, chosen, "pending-reasons", () => { send.disabled = chosen.size === 0; });
  document.body.dataset.mode = "reason";
  clear(stage, h("div", { class: "prompt", "data-testid": "pending-reason" },
    h("h1", { text: T.pendingTitle(pending.level) }), chips,
    h("div", { class: "row center" },
      h("button", { type: "button", class: "btn main", onclick: () => done(false) }, icon("back"), T.pendingSkip), send)));
  speak(T.pendingSpeak);
  return true;
}
