// The service catalogue as the kiosk shows it: the cached item list (refreshed every ten minutes), an
// item's row in a list, and a process drawn as numbered steps (also used for a case's history).
import T from "../i18n/kiosk.js";
import { getOptional } from "./api.js";
import { icon } from "./icons.js";
import { asList } from "./kiosk_parts.js";
import { go, state } from "./kiosk_shell.js";
import { h } from "./ui.js";

export async function loadCatalog() {
  if (state.catalog) return state.catalog;
  const data = await getOptional("/api/catalog/items?limit=200");
  if (data === null) return null;
  state.catalog = asList(data, "items");
  setTimeout(() => { state.catalog = null; }, 10 * 60 * 1000);   // pick up a new county catalog
  return state.catalog;
}

function itemCode(it) { return it.impl_code; }
function itemName(it) { return it.name || ""; }
export function itemDept(it) { return it.department || ""; }
export function itemCat(it) { return it.category || ""; }

export function itemRow(it) {
  return h("button", { type: "button", class: "item-row", "data-testid": `item-${itemCode(it)}`,
    "data-speak": itemName(it), onclick: () => go("item", { code: itemCode(it) }) },
  h("span", { class: "item-main" }, h("span", { class: "item-name", text: itemName(it) }),
    h("span", { class: "item-sub muted" }, itemDept(it), it.promised_limit ? `　${T.promisedLimit}：${it.promised_limit}` : "")),
  h("span", { class: "item-tags" },
    it.case_kind_name ? h("span", { class: "badge", text: it.case_kind_name }) : null,
    it.online ? h("span", { class: "badge ok" }, icon("qr"), T.online) : null,
    it.has_forms ? h("span", { class: "badge" }, icon("printer"), T.formTag) : null),
  icon("next"));
}

export function flowDiagram(steps) {
  const flow = h("ol", { class: "flow", "data-testid": "flow" });
  steps.forEach((s, i) => {
    const limit = s.limit ? (s.limit.text || "") : "";
    flow.append(h("li", { class: "flow-step" },
      h("span", { class: "flow-no", text: String(i + 1) }),
      h("span", { class: "flow-name", text: s.name || "" }),
      s.actor ? h("span", { class: "flow-actor", text: s.actor }) : null,
      limit ? h("span", { class: "flow-limit" }, icon("clock"), limit) : null,
      s.detail ? h("span", { class: "flow-desc", text: s.detail }) : null));
  });
  return flow;
}

export function listText(v) {
  return [].concat(v || []).filter(Boolean);
}
