// The kiosk's 材料扫描 result: the pick-up code (取件码) drawn like the ticket, so it stays on screen
// until the citizen leaves (返回首页 or the idle reset) instead of vanishing with a toast.
import T from "../i18n/kiosk.js";
import { icon } from "./icons.js";
import { button, h } from "./ui.js";

/** The result card for a capture answer `{code, message}`; `again` scans another page, `done` goes home. */
export function scanResult(r, { again, done }) {
  return h("div", { class: "ticket-card card scan-done", "data-testid": "scan-done" },
    h("div", { class: "ticket-left" },
      h("div", { class: "ticket-head" }, icon("check"), h("span", { text: T.scanDoneTitle })),
      h("div", { class: "ticket-label", text: T.scanCodeLabel }),
      h("div", { class: "ticket-number scan-code", "data-testid": "scan-code", text: r.code })),
    h("div", { class: "ticket-right" },
      h("p", { class: "scan-code-help", text: T.scanCodeHelp }),
      h("p", { class: "muted", text: T.scanHint }),
      h("div", { class: "row" },
        button(T.scanAgain, { icon: "scan", cls: "btn main", onClick: again, attrs: { "data-testid": "scan-again" } }),
        button(T.done, { icon: "home", cls: "btn primary main", onClick: done, attrs: { "data-testid": "scan-finish" } }))));
}

/** The digits read one by one ("3 0 7 …"), as a citizen would repeat them at the window. */
export function spellCode(code) {
  return String(code).split("").join(" ");
}
