// What every tab of the technician's page shares: the footer's "updated at" line, load errors
// shown as a toast (a 401 is the sign-in's business), and a panel that polls while it is on screen.
import T from "../i18n/tech.js";
import { every, guardedLoader } from "./staff.js";
import { h } from "./ui.js";

export const status = h("div", { class: "status-line", role: "status", "data-testid": "status" });

/** Loads a tab's data, shows failures as a toast, stamps the footer. */
export const guarded = guardedLoader(T, status);

/** A panel that polls while it is on screen. */
export function polled(id, iconName, ms, load, mount) {
  const timer = every(ms, () => guarded(load));
  return {
    id, icon: iconName,
    mount,
    show() { timer.start(); },
    hide() { timer.stop(); },
    refresh() { timer.now(); },
  };
}

/** One fact in a health strip (label above, value below; kind colours it). */
export function healthItem(label, value, kind = "") {
  return h("div", { class: `hz ${kind}` }, h("span", { class: "hz-label", text: label }), h("strong", { text: value ?? "—" }));
}
