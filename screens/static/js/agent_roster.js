// The agent's 值班 tab: who of the village's agents is on duty each day.
import T from "../i18n/agent.js";
import { call, content, drawStatus, state } from "./agent_page.js";
import { api } from "./api.js";
import { icon } from "./icons.js";
import { clear, h, toast } from "./ui.js";

export async function drawRoster() {
  const box = h("section", { class: "card" }, h("h2", {}, icon("people"), T.rosterTitle), h("p", { class: "muted", text: T.rosterHint }));
  clear(content, h("div", { class: "agent-page" }, box));
  let days;
  try {
    days = (await call(() => api.get("/api/village/roster"))).days;
  } catch (err) {
    box.append(h("div", { class: "note bad" }, icon("alert"), err.message));
    return;
  }
  const agents = state.me ? state.me.agents : [];
  const today = state.me ? state.me.today : "";
  const ul = h("ul", { class: "roster", "data-testid": "roster" });
  for (const d of days) {
    const wd = T.weekdays[new Date(`${d.day}T12:00:00`).getDay()];
    const label = h("span", { class: "day" }, T.dayFmt(d.day, wd), d.day === today ? h("span", { class: "badge", text: T.today }) : null);
    if (!d.workday) {
      ul.append(h("li", { class: "rest" }, label, h("span", { class: "muted", text: T.restDay })));
      continue;
    }
    const sel = h("select", { "aria-label": T.pickAgent, "data-testid": `duty-${d.day}` },
      h("option", { value: "", text: T.noDuty }),
      agents.map((a) => h("option", { value: a.id, text: a.name, selected: d.agent && d.agent.id === a.id })));
    sel.addEventListener("change", async () => {
      try {
        await call(() => api.put("/api/village/roster", { day: d.day, agent_id: sel.value ? Number(sel.value) : null }));
        toast(T.rosterSaved, "ok");
        state.me = await api.get("/api/village/me");
        drawStatus();
      } catch (err) { toast(err.message, "bad"); }
    });
    ul.append(h("li", { class: d.agent ? "" : "gap" }, label, sel));
  }
  box.append(ul);
}
