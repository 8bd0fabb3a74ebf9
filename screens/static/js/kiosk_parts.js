// Pieces every kiosk screen is built from: the title line, the screen box, the 暂不可用 panel, an error
// note, an input box for the on-screen keyboards, names of categories and dates as a citizen reads them.
import C from "../i18n/common.js";
import { icon } from "./icons.js";
import { page } from "./kiosk_shell.js";
import { h } from "./ui.js";

export function title(iconName, text, sub) {
  return h("h1", { class: "screen-title" }, icon(iconName), h("span", { text }),
    sub ? h("span", { class: "sub", text: sub }) : null);
}

export function screen(...children) {
  return h("section", { class: "screen" }, ...children);
}

export function unavailablePanel(extra = "") {
  return h("div", { class: "card unavailable", "data-testid": "unavailable" },
    h("div", { class: "unavailable-head" }, icon("info"), h("strong", { text: C.unavailable })),
    h("p", { text: extra || C.unavailableBody }));
}

export function errorNote(err) {
  return h("div", { class: "note bad", role: "alert" }, icon("alert"), h("span", { text: err.message || C.serverError }));
}

export function asList(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

export function categoryName(prefix) {
  const c = page.categories.find((x) => x.prefix === prefix);
  return c ? c.name : prefix;
}

export function inputBox({ label, testid, maxLength = 32, upper = false, placeholder = "" }) {
  const input = h("input", { type: "text", inputmode: "none", autocomplete: "off", spellcheck: "false",
    maxlength: maxLength, placeholder, "data-testid": testid, "aria-label": label });
  if (upper) input.dataset.upper = "";
  const field = h("div", { class: "field" }, h("label", { text: label }), input);
  return { field, input };
}

/** A hall-time ISO stamp as "2026年12月6日 10:30" (or the date alone), whatever the browser's locale. */
export function when(iso, { time = true } = {}) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}))?/.exec(iso || "");
  if (!m) return iso || "";
  const day = C.dayFmt(Number(m[1]), Number(m[2]), Number(m[3]));
  return time && m[4] ? `${day} ${m[4]}` : day;
}
