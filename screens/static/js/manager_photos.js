// The manager's 公示栏 tab: each clerk's photo (uploaded as chosen; the service re-encodes it and strips
// EXIF) and the hall's rules text the kiosk's 公示栏 shows. Every change is audited by the service.
// Words: i18n/manager.js (T.faces).
import T from "../i18n/manager.js";
import { ApiError, api } from "./api.js";
import { loadFaces } from "./hall_faces.js";
import { card, field, tabPanel } from "./staff.js";
import { busyAction, button, clear, h } from "./ui.js";

const F = T.faces;

async function upload(staffId, file) {
  const r = await fetch(`/api/staff/${encodeURIComponent(staffId)}/photo`, {
    method: "PUT", body: file, credentials: "same-origin",
    headers: { "Content-Type": file.type || "application/octet-stream", Accept: "application/json" } });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(r.status, e.code || `http_${r.status}`, e.message || F.failed(r.status), data);
  }
  return data;
}

export function facesPanel(ctx) {
  const grid = h("div", { class: "faces-grid", "data-testid": "faces" });
  const rules = h("textarea", { rows: 8, maxlength: 4000, "data-testid": "rules-text" });
  const panel = tabPanel({
    id: "faces", icon: "people", guarded: ctx.guarded,
    mount(node) {
      const save = button(F.saveRules, { icon: "check", cls: "btn primary", attrs: { "data-testid": "rules-save" },
        onClick: () => busyAction(save, async () => {
          await api.put("/api/hall/rules", { text: rules.value });
          ctx.toast(F.saved, "ok");
        }) });
      node.append(h("div", { class: "two-col" },
        card(F.photosTitle, "people", {}, h("p", { class: "muted", text: F.photosHint }), grid),
        card(F.rulesTitle, "rules", { cls: "side-col" },
          field(F.rulesLabel, rules, { hint: F.rulesHint }), save)));
    },
    fetch: () => Promise.all([loadFaces(), ctx.api.get("/api/hall/rules")]),
    render: ([photos, r]) => {
      if (r.text !== null && r.text !== undefined && document.activeElement !== rules) rules.value = r.text;
      render(photos);
    },
  });
  function render(photos) {
    const clerks = (ctx.page.staff || []);
    clear(grid, clerks.map((s) => {
      const input = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", hidden: true,
        "data-testid": `photo-file-${s.id}` });
      const pick = button(photos[s.id] ? F.replace : F.upload, { icon: "scan", cls: "btn" });
      pick.addEventListener("click", () => input.click());
      input.addEventListener("change", () => busyAction(pick, async () => {
        const file = input.files && input.files[0];
        if (!file) return;
        await upload(s.id, file);
        ctx.toast(F.uploaded(s.name), "ok");
        await panel.load();
      }));
      const img = photos[s.id]
        ? h("img", { src: `/api/staff/${encodeURIComponent(s.id)}/photo?v=${encodeURIComponent(photos[s.id])}`, alt: s.name })
        : h("span", { class: "muted", text: F.none });
      return h("div", { class: "face-item", "data-testid": `face-item-${s.id}` },
        h("div", { class: "avatar" }, img), h("strong", { text: s.name }), h("span", { class: "muted", text: s.id }),
        pick, input);
    }));
  }
  return panel;
}
