// Service-level targets on the board: a category over its target gets a mark in words and an icon
// beside its waiting count (never colour alone). The public /api/targets is read at start, after
// queue changes (coalesced), and every minute, because waits grow without any event.
import T from "../i18n/board.js";
import { getOptional } from "./api.js";
import { icon } from "./icons.js";
import { follow } from "./live.js";
import { h } from "./ui.js";

const byPrefix = new Map();
const MARK_STYLE = { display: "inline-flex", alignItems: "center", gap: "0.25em", marginLeft: "0.5em",
  padding: "0 0.4em", border: "2px solid currentColor", borderRadius: "0.3em", color: "#ffd54a", fontSize: "0.8em" };

/** The over-target mark for one category, or null while it is within its targets. */
export function targetMark(prefix) {
  const t = byPrefix.get(prefix);
  if (!t || !t.over) return null;
  return h("span", { class: "w-over", "data-testid": `over-${prefix}`, style: MARK_STYLE,
    title: T.targetHint(t.target_wait_minutes, t.target_service_minutes) },
  icon("alert"), t.over_wait ? T.overWait : T.overService);
}

/** Keep the marks current; `redraw()` runs whenever they change. */
export function watchTargets(redraw) {
  let timer = null;
  const load = async () => {
    try {
      const data = await getOptional("/api/targets");
      if (!data) return;
      const before = JSON.stringify([...byPrefix.entries()]);
      byPrefix.clear();
      for (const c of data.categories || []) byPrefix.set(c.prefix, c);
      if (JSON.stringify([...byPrefix.entries()]) !== before) redraw();
    } catch { /* keep the marks shown now */ }
  };
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 1500); };
  follow(["ticket.called", "ticket.updated", "ticket.issued"], soon);
  load();
  setInterval(load, 60000);
}
