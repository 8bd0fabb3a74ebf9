// The kiosk's 材料扫描 screen: a page shot under the document camera, and the pick-up code (取件码) drawn
// like the ticket, so it stays on screen until the citizen leaves (返回首页 or the idle reset) instead of
// vanishing with a toast.
import C from "../i18n/common.js";
import T from "../i18n/kiosk.js";
import { api } from "./api.js";
import { icon } from "./icons.js";
import { screen, title, unavailablePanel } from "./kiosk_parts.js";
import { VIEWS, goHome, reader, toggles } from "./kiosk_shell.js";
import { busyAction, button, clear, h, toast } from "./ui.js";

VIEWS.scan = () => {
  const body = h("div", { class: "scan-body" }, h("div", { class: "empty", text: C.loading }));
  const node = screen(title("scan", T.scanTitle, T.scanSub), body);
  let card = null;
  const ask = () => clear(body, card);
  (async () => {
    let ok = false;
    try { ok = (await fetch("/api/camera/capture", { method: "OPTIONS" })).ok; } catch { ok = false; }
    if (!ok) { clear(body, unavailablePanel(T.scanUnavailable)); return; }
    const shoot = button(T.shoot, { icon: "scan", cls: "btn primary main", attrs: { "data-testid": "shoot" },
      onClick: () => busyAction(shoot, async () => {
        const r = await api.post("/api/camera/capture", {}, { timeout: 20000 });
        if (!r || !r.code) { toast(r && r.message ? r.message : T.scanSaved, "ok"); return; }
        clear(body, scanResult(r, { again: ask, done: () => goHome() }));
        if (toggles.voice) reader.read(T.scanDoneSpeak(spellCode(r.code)));
      }) });
    card = h("div", { class: "card scan-card" }, icon("scan", "icon way-icon"), h("p", { text: T.scanSub }), shoot,
      h("p", { class: "muted", text: T.scanHint }));
    ask();
  })();
  return { node, speak: T.scanSpeak };
};

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
