// 公示栏: who serves at which window (with photos), the hall rules, the hall map, notices and the item list.
import C from "../i18n/common.js";
import T from "../i18n/kiosk.js";
import { getOptional } from "./api.js";
import { icon } from "./icons.js";
import { face as staffFace, hallRules, loadFaces } from "./hall_faces.js";
import { itemRow, loadCatalog } from "./kiosk_catalog.js";
import { asList, categoryName, errorNote, screen, title, unavailablePanel, when } from "./kiosk_parts.js";
import { VIEWS, page, state } from "./kiosk_shell.js";
import { clear, h } from "./ui.js";

// ------------------------------------------------------------------ public board (公示栏)
VIEWS.board = ({ tab = "staff" } = {}) => {
  const tabs = h("div", { class: "choices tabs", role: "tablist" });
  const body = h("div", { class: "board-body" });
  const node = screen(title("board", T.boardTitle, T.boardSub), tabs, body);
  const view = { node, speak: T.boardSpeak };
  let current = tab;
  const TABS = [["staff", T.tabStaff, "people"], ["rules", T.tabRules, "rules"], ["map", T.tabMap, "map"],
    ["notices", T.tabNotices, "info"], ["items", T.tabItems, "list"]];
  for (const [k, label, ic] of TABS) {
    tabs.append(h("button", { type: "button", class: "choice", role: "tab", "data-tab": k, "data-testid": `board-${k}`,
      "data-speak": label, onclick: () => show(k) },
    icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
  }
  function show(k) {
    current = k;
    view.params = { tab: k };
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.tab === k));
    ({ staff: drawStaff, rules: drawRules, map: drawMap, notices: drawNotices, items: drawItems })[k]();
  }
  async function drawStaff() {
    await loadFaces();
    if (current !== "staff") return;
    const windows = state.snap ? state.snap.windows : page.windows.map((w) => ({ ...w, clerk_id: null }));
    clear(body, h("div", { class: "staff-grid", "data-testid": "staff-grid", tabindex: "0" }, windows.map((w) => {
      const s = page.staff.find((x) => x.id === w.clerk_id);
      const cats = (w.categories || []).map((p) => `${p} ${categoryName(p)}`);
      return h("div", { class: "card staff-card" },
        h("div", { class: "staff-window" }, h("span", { class: "win-no", text: String(w.number) }),
          h("span", { text: T.mapWindow(w.number) }),
          w.paused ? h("span", { class: "badge warn" }, icon("pause"), T.paused) : null),
        w.clerk_id ? h("div", { class: "staff-who" },
          staffFace(w.clerk_id, w.clerk_name || "", h("div", { class: "avatar", text: (w.clerk_name || "?").slice(0, 1) })),
          h("div", {}, h("div", { class: "staff-name" }, w.clerk_name || "",
            h("span", { class: "badge", text: w.post === "B" ? T.postB : T.postA })),
          h("div", { class: "muted", text: T.staffNo(w.clerk_id) }),
          s && s.duties ? h("div", { text: s.duties }) : null))
          : h("div", { class: "staff-who none" }, h("div", { class: "avatar off" }, icon("user")),
            h("div", { class: "muted", text: T.offDuty })),
        h("div", { class: "staff-cats" }, h("span", { class: "muted", text: T.windowServes }),
          cats.map((c) => h("span", { class: "badge", text: c }))));
    })));
  }
  async function drawRules() {
    const rules = await hallRules(T.rules);
    if (current !== "rules") return;
    clear(body, h("div", { class: "rules", tabindex: "0", "data-testid": "rules" }, rules.map(([name, text], i) => h("div", { class: "card rule" },
      h("span", { class: "flow-no", text: String(i + 1) }), h("div", {}, h("h2", { text: name }), h("p", { text }))))));
  }
  function drawMap() { clear(body, h("div", { class: "card map-card" }, hallMap())); }
  async function drawNotices() {
    clear(body, h("div", { class: "empty", text: C.loading }));
    let data;
    try { data = await getOptional("/api/notices"); } catch (err) { clear(body, errorNote(err)); return; }
    if (current !== "notices") return;
    if (data === null) { clear(body, unavailablePanel()); return; }
    const list = asList(data, "notices");
    clear(body, list.length ? h("div", { class: "notices", "data-testid": "notices", tabindex: "0" }, list.map((n) => h("article",
      { class: "card notice" },
      h("div", { class: "row" }, h("span", { class: "badge", text: T.noticeKind[n.kind] || T.noticeKind.hall }),
        h("span", { class: "muted", text: T.published(when(n.published_at, { time: false })) })),
      h("h2", { text: n.title || "" }),
      h("p", { class: "prose", text: n.body || "" }))))
      : h("div", { class: "empty", text: T.noNotices }));
  }
  async function drawItems() {
    clear(body, h("div", { class: "empty", text: C.loading }));
    let items;
    try { items = await loadCatalog(); } catch (err) { clear(body, errorNote(err)); return; }
    if (current !== "items") return;
    if (items === null) { clear(body, unavailablePanel()); return; }
    clear(body, h("div", { class: "item-list tall" }, items.map(itemRow)));
  }
  setTimeout(() => show(tab), 0);
  view.onEvent = (kind) => { if (current === "staff" && (kind === "window.updated" || kind === "snapshot")) drawStaff(); };
  return view;
};

/** The hall guide map (群众办事引导图), drawn from the configured windows. */
function hallMap() {
  const ws = page.windows;
  const W = 1200;
  const H = 640;
  const slot = (W - 120) / Math.max(ws.length, 1);
  const parts = [];
  parts.push(`<rect x="20" y="20" width="${W - 40}" height="${H - 40}" rx="18" fill="#f6f9fd" stroke="#0b3a82" stroke-width="4"/>`);
  ws.forEach((w, i) => {
    const x = 60 + i * slot;
    parts.push(`<rect x="${x + 8}" y="40" width="${slot - 16}" height="120" rx="10" fill="#0f4ea8"/>`,
      `<text x="${x + slot / 2}" y="92" font-size="38" font-weight="700" fill="#fff" text-anchor="middle">${esc(T.mapWindow(w.number))}</text>`,
      `<text x="${x + slot / 2}" y="136" font-size="30" fill="#fff" text-anchor="middle">${esc(w.categories.join(" · "))}</text>`);
  });
  parts.push(`<rect x="60" y="190" width="${W - 120}" height="36" rx="6" fill="#dbe7f7"/>`);
  // waiting area: rows of seats
  parts.push(`<rect x="300" y="270" width="600" height="200" rx="14" fill="#eef3fa" stroke="#c4d1e3" stroke-width="3"/>`,
    `<text x="600" y="300" font-size="32" fill="#14213a" text-anchor="middle" font-weight="700">${esc(T.mapWaiting)}</text>`);
  for (let r = 0; r < 3; r += 1) {
    for (let c = 0; c < 10; c += 1) parts.push(`<rect x="${340 + c * 54}" y="${322 + r * 46}" width="40" height="30" rx="6" fill="#9fb6d6"/>`);
  }
  parts.push(`<rect x="70" y="300" width="180" height="120" rx="12" fill="#fff1d6" stroke="#8a4b00" stroke-width="3"/>`,
    `<text x="160" y="370" font-size="34" fill="#8a4b00" text-anchor="middle" font-weight="700">${esc(T.mapGuide)}</text>`,
    `<rect x="950" y="300" width="180" height="120" rx="12" fill="#e3f4ea" stroke="#11663a" stroke-width="3"/>`,
    `<text x="1040" y="370" font-size="34" fill="#11663a" text-anchor="middle" font-weight="700">${esc(T.mapRest)}</text>`,
    `<rect x="200" y="500" width="170" height="80" rx="10" fill="#0a2a5e"/>`,
    `<text x="285" y="550" font-size="30" fill="#fff" text-anchor="middle">${esc(T.mapKiosk)}</text>`,
    `<circle cx="285" cy="485" r="16" fill="#a4161a"/>`,
    `<text x="312" y="478" font-size="32" fill="#a4161a" font-weight="700">★ ${esc(T.mapYouAreHere)}</text>`,
    `<rect x="${W / 2 - 110}" y="${H - 36}" width="220" height="32" fill="#fff" stroke="#0b3a82" stroke-width="3"/>`,
    `<text x="${W / 2}" y="${H - 12}" font-size="30" fill="#0b3a82" text-anchor="middle" font-weight="700">▲ ${esc(T.mapEntrance)}</text>`,
    `<path d="M${W / 2} ${H - 50} L${W / 2} 490 M${W / 2} 490 L600 240" stroke="#0f4ea8" stroke-width="6" stroke-dasharray="14 10" fill="none"/>`);
  const tpl = document.createElement("template");
  tpl.innerHTML = `<svg class="hall-map" data-testid="hall-map" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(T.tabMap)}"
    font-family="Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif">${parts.join("")}</svg>`;
  return tpl.content.firstElementChild;
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
