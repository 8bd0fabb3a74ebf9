// The technician's 配置检查 tab: the config file's checks, the catalog and holiday years in use,
// the devices and staff as configured, and the rest of the config as JSON. Words: i18n/tech.js.
import T from "../i18n/tech.js";
import { icon } from "./icons.js";
import { badge, card, dataTable, fmt } from "./staff.js";
import { healthItem } from "./tech_panel.js";
import { clear, h, hallTime } from "./ui.js";

export function configPanel({ api, polled }) {
  const head = h("div", { "data-testid": "config-status" });
  const checks = h("ul", { class: "checks", "data-testid": "config-checks" });
  const devs = h("div");
  const staff = h("div");
  const other = h("pre", { class: "cfg-json", tabindex: "0" });   // it scrolls: reachable by keyboard
  const catalog = h("div", { class: "health", "data-testid": "catalog-status" });
  const years = h("div", { class: "health", "data-testid": "holiday-years" });
  async function loadExtras() {
    const [c, y] = await Promise.all([api().get("/api/catalog/status").catch(() => null),
      api().get("/api/records/holidays").catch(() => null)]);
    const item = healthItem;
    const K = T.catalog;
    clear(catalog, c ? [item(K.version, c.version), item(K.items, String(c.item_count)),
      item(K.source, K.sources[c.source] || c.source), item(K.published, fmt.day(c.published_at)),
      (c.load_errors || []).length ? item(K.errors, c.load_errors.join("；"), "bad") : null] : []);
    if (y) {
      const now = hallTime().year;
      clear(years, [now - 1, now, now + 1].map((yr) => {
        const known = Boolean((y.hall || {})[yr]) || (y.package || []).includes(yr);
        return item(String(yr), known ? K.yearKnown((y.hall || {})[yr]) : K.yearGuessed, known ? "ok" : "warn");
      }));
    }
  }
  async function load() {
    loadExtras();
    const r = await api().get("/api/tech/config");
    const kind = r.status === "ok" ? "ok" : r.status === "warn" ? "warn" : "bad";
    clear(head, h("div", { class: `note ${kind === "warn" ? "" : kind}` }, icon(kind === "ok" ? "check" : "alert"),
      h("div", {}, h("strong", { text: T.configStatus[r.status] }),
        h("div", { class: "small", text: `${T.configFile(r.file)} · ${T.configCounts(r.counts)}` }))));
    clear(checks, r.checks.map((c) => h("li", { class: `check ${c.level}` },
      badge(T.levels[c.level], c.level === "ok" ? "ok" : c.level === "warn" ? "warn" : "bad",
        c.level === "ok" ? "check" : "alert"), h("strong", { text: c.item }), h("span", { text: c.message }))));
    const cfg = r.config;
    const C = T.cfgCols;
    clear(devs, dataTable([
      { label: C.name, get: (d) => d.name }, { label: C.kind, get: (d) => T.kinds[d.kind] || d.kind },
      { label: C.url, get: (d) => h("code", { text: d.url }) }, { label: C.window, get: (d) => (d.window ? T.window(d.window) : "—") },
      { label: C.options, get: (d) => Object.entries(d.options || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—" },
    ], cfg.devices || []));
    const S = T.staffCols;
    clear(staff, dataTable([
      { label: S.id, get: (s) => s.id }, { label: S.name, get: (s) => s.name }, { label: S.role, get: (s) => T.roles[s.role] || s.role },
      { label: S.post, get: (s) => (s.role === "clerk" ? T.post(s.post) : "—") },
      { label: S.windows, get: (s) => (s.role !== "clerk" ? "—" : s.windows.length ? s.windows.join("、") : T.anyWindow) },
    ], cfg.staff || []));
    const rest = { ...cfg };
    delete rest.devices;
    delete rest.staff;
    other.textContent = JSON.stringify(rest, null, 2);
  }
  const panel = polled("config", "rules", 30000, load, (node) => node.append(
    card(T.configTitle, "rules", {}, head, checks),
    h("div", { class: "two-col" }, card(T.catalog.title, "guide", {}, catalog),
      card(T.catalog.holidays, "appointment", {}, years)),
    h("div", { class: "two-col" }, card(T.devicesConfigured, "printer", {}, devs), card(T.staffConfigured, "people", {}, staff)),
    card(T.configSummary, "list", {}, other)));
  return panel;
}
