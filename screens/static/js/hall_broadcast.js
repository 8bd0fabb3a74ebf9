// The manager's hall broadcast (大厅广播) as a banner on the board and the kiosk. It is loaded once
// (GET /api/broadcasts) and then kept current from the page's own live stream (`broadcast.changed`,
// shared through live.js `follow`: no second stream). Each banner also checks its own expiry, so a
// message never outlives its time while the stream happens to be down.
import C from "../i18n/common.js";
import { getOptional } from "./api.js";
import { icon } from "./icons.js";
import { follow } from "./live.js";
import { h } from "./ui.js";

// Inline so no screen's stylesheet needs a rule: dark text on amber, large on every screen.
const STYLE = { background: "#ffd54a", color: "#1a1a1a", fontSize: "1.6rem", fontWeight: "700",
  padding: "0.5rem 1.6rem", borderBottom: "3px solid #b58900" };

/**
 * Show active broadcasts that name `target` ("board" | "kiosk") at the top of `banners`.
 * @returns {{ list: object[], shown: () => string }}
 */
export function broadcastBanner(banners, target) {
  const text = h("span", { class: "broadcast-text", "data-testid": "broadcast-text" });
  const node = h("div", { class: "banner broadcast", hidden: true, role: "alert", style: STYLE,
    "data-testid": "broadcast-banner" }, icon("voice"), h("strong", { text: C.broadcast }), text);
  banners.prepend(node);
  const state = { list: [] };
  const draw = () => {
    const now = Date.now();
    const mine = state.list.filter((b) => (b.targets || []).includes(target) && Date.parse(b.expires_at) > now);
    node.hidden = !mine.length;
    text.textContent = mine.map((b) => b.message).join(C.broadcastSep);
  };
  const load = async () => {
    try {
      const data = await getOptional("/api/broadcasts");
      if (data) { state.list = data.broadcasts || []; draw(); }
    } catch { /* keep what shows now */ }
  };
  follow(["broadcast.changed"], (kind, d) => {
    if (kind === "snapshot") load();           // events may have been missed: ask again
    else { state.list = (d && d.active) || []; draw(); }
  });
  load();
  setInterval(draw, 5000);
  return { get list() { return state.list; }, shown: () => (node.hidden ? "" : text.textContent) };
}
