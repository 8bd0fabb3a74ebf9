// The agent's 待发送 tab: drafts waiting on the device to be sent, with retry, edit and remove.
import T from "../i18n/agent.js";
import C from "../i18n/common.js";
import { content, drawStatus, ownDrafts, screen, state, store } from "./agent_page.js";
import { icon } from "./icons.js";
import { button, clear, h, modal } from "./ui.js";

/** Re-queue the draft as it is stored now (the listed copy may predate a send that got further, or finished). */
async function retry(key) {
  const d = await store.get(key);
  if (!d) return drawDrafts();
  if (d.status !== "sending") {
    d.status = "queued";
    await store.put(d);
  }
  await state.sender.flush();
}

export async function drawDrafts() {
  const drafts = (await ownDrafts()).filter((d) => d.status !== "editing" || d.item);
  const list = h("ul", { class: "draft-list", "data-testid": "draft-list" });
  for (const d of drafts) {
    list.append(h("li", { "data-testid": "draft", "data-state": d.status, "data-registered": Boolean(d.record_id),
      "data-photos-sent": d.photos.filter((p) => p.uploaded).length },
      h("div", { class: "row" }, h("strong", { class: "grow", text: d.title || (d.item && d.item.name) || T.photos }),
        h("span", { class: `badge ${d.status === "error" ? "bad" : d.status === "editing" ? "" : "warn"}`,
          text: T.draftState[d.status] || d.status })),
      h("div", { class: "muted small", text: [d.who, T.draftPhotos(d.photos.length), T.timeFmt(d.saved_at)].filter(Boolean).join(" · ") }),
      d.error && d.error !== "login" ? h("div", { class: "note bad small" }, icon("alert"), d.error) : null,
      h("div", { class: "row" },
        d.status !== "editing" ? button(T.retry, { cls: "btn", icon: "recall", attrs: { "data-testid": "retry" },
          onClick: () => retry(d.key) }) : null,
        !d.record_id && (d.status === "editing" || d.status === "error") ? button(T.edit, { cls: "btn", icon: "case",
          onClick: () => { d.status = "editing"; state.draft = d; store.put(d); screen.show("form"); } }) : null,
        button(T.remove, { cls: "btn danger", onClick: () => modal({ title: T.remove, body: [h("p", { text: T.removeConfirm })],
          actions: [{ label: C.cancel }, { label: T.remove, cls: "btn danger", onClick: async () => {
            await store.remove(d.key);
            if (state.draft && state.draft.key === d.key) state.draft = null;
            drawStatus();
            drawDrafts();
          } }] }) }))));
  }
  clear(content, h("div", { class: "agent-page" }, h("section", { class: "card" },
    h("h2", {}, icon("wifiOff"), T.draftsTitle), drafts.length ? list : h("p", { class: "empty", text: T.draftsEmpty }))));
}
