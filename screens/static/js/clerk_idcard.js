// The clerk console's ID-card box: who took the served ticket with a card (masked name, age band), and
// whether the case registration can use the card. The console never receives the ID number: with
// "用身份证信息填写" the case request says `applicant_from_card` and the service fills the applicant.
import T from "../i18n/clerk_idcard.js";
import { api } from "./api.js";
import { icon } from "./icons.js";
import { follow } from "./live.js";
import { clear, h } from "./ui.js";

const use = { on: false, view: null };   // the case form's state: use the card for the applicant?

/** Whether the next case registration takes its applicant from the card (clerk_cases.js asks). */
export function usingCard() { return use.on; }

/** After a registration: the card is used up. */
export function cardUsed() { use.on = false; if (use.view) use.view.refresh(); }

/**
 * Mount the box under the current ticket. `getCurrent()` is the window's current ticket or null;
 * `onUse(masked)` lets the case form show the masked values (or clear them with null).
 */
export function mountCardBox(box, { window, getCurrent, onUse = () => {} }) {
  let lastId;
  let seq = 0;
  async function refresh() {
    const mine = ++seq;
    let r = null;
    try { r = await api.get(`/api/windows/${window}/card`); } catch { r = null; }
    if (mine !== seq) return;
    draw(r);
  }
  function draw(r) {
    const lines = [];
    if (r && r.holder) {
      lines.push(h("div", { "data-testid": "card-holder" }, h("strong", { text: T.holder(r.holder.name, r.holder.age_band) })));
    }
    if (r && r.prefill) {
      const p = r.prefill;
      const btn = h("button", { type: "button", class: "btn toggle", "data-testid": "card-prefill",
        onclick: () => { use.on = !use.on; onUse(use.on ? p : null); draw(r); } }, use.on ? T.prefillOff : T.prefillUse);
      lines.push(h("div", { "data-testid": "card-prefill-line" }, T.prefill(p.name, p.cert_no), " ", btn));
      if (use.on) lines.push(h("div", { class: "muted", text: T.prefillOn }));
    } else if (use.on) {
      use.on = false;
      onUse(null);
    }
    box.hidden = lines.length === 0;
    // one compact block under the current ticket: the action pad below must keep its room
    clear(box, icon("people"), h("div", {}, ...lines));
  }
  function check() {
    const cur = getCurrent();
    const id = cur ? cur.id : null;
    if (id !== lastId) { lastId = id; refresh(); }
  }
  use.view = { refresh };
  box.hidden = true;
  follow(["card.window", "ticket.called", "ticket.updated"], (kind, d) => {
    if (kind === "card.window" && d && d.window === window) refresh(); else check();
  });
  setInterval(check, 2000);
  check();
}
