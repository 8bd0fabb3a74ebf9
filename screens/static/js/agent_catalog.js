// The township's catalog for the agent's form, cached on the device so an item can be chosen
// (and its materials listed) while the link is down.
import { call } from "./agent_page.js";
import { api, qs } from "./api.js";

const ITEMS_CACHE = "hall-agent-items";
const GUIDE_CACHE = "hall-agent-guide:";

export async function prefetchItems() {
  try {
    const r = await api.get(`/api/catalog/items${qs({ limit: 200 })}`);
    localStorage.setItem(ITEMS_CACHE, JSON.stringify(r.items.map((i) => ({ impl_code: i.impl_code, name: i.name,
      short_name: i.short_name, department: i.department, case_kind_name: i.case_kind_name }))));
  } catch { /* offline: keep the last list */ }
}

function cachedItems() {
  try { return JSON.parse(localStorage.getItem(ITEMS_CACHE) || "[]"); } catch { return []; }
}

export async function searchItems(q) {
  try {
    const r = await call(() => api.get(`/api/catalog/items${qs({ q, limit: 12 })}`, { timeout: 6000 }));
    return r.items;
  } catch {
    return cachedItems().filter((i) => i.name.includes(q) || (i.short_name || "").includes(q)).slice(0, 12);
  }
}

export async function guide(code) {
  try {
    const g = await call(() => api.get(`/api/catalog/items/${encodeURIComponent(code)}`, { timeout: 8000 }));
    const slim = { impl_code: g.impl_code, name: g.name, village_level: String(g.exercise_level) === "6",
      materials: g.materials.map((m) => ({ name: m.name, required: m.required, originals: m.originals, copies: m.copies })) };
    try { localStorage.setItem(GUIDE_CACHE + code, JSON.stringify(slim)); } catch { /* full: fine */ }
    return slim;
  } catch {
    const raw = localStorage.getItem(GUIDE_CACHE + code);
    return raw ? JSON.parse(raw) : null;
  }
}
