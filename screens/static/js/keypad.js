// On-screen number keypad and letter keyboard. They type into a real <input>
// (so a physical keyboard works too, e.g. at the clerk's desk) and fire the
// usual "input" events. Kiosk inputs use inputmode="none" so no system
// keyboard pops up over the page.
import T from "../i18n/common.js";
import { h } from "./ui.js";

function target(get) {
  const el = typeof get === "function" ? get() : get;
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ? el : null;
}

function emit(el) {
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

export function typeInto(el, text) {
  if (!el || el.disabled || el.readOnly) return;
  const max = el.maxLength > 0 ? el.maxLength : Infinity;
  let v = el.value + text;
  if (v.length > max) v = v.slice(0, max);
  if (el.dataset.upper !== undefined) v = v.toUpperCase();
  el.value = v;
  emit(el);
}

export function backspace(el) {
  if (!el || el.disabled) return;
  el.value = el.value.slice(0, -1);
  emit(el);
}

export function clearInput(el) {
  if (!el || el.disabled) return;
  el.value = "";
  emit(el);
}

function key(label, onPress, { cls = "key", testid, aria } = {}) {
  const b = h("button", { type: "button", class: cls, "data-key": testid || label, "aria-label": aria || label,
    "data-speak": aria || label, text: label });
  // pointerdown keeps the input's focus (a click would blur it first).
  b.addEventListener("pointerdown", (e) => e.preventDefault());
  b.addEventListener("click", onPress);
  return b;
}

/** 1–9, 清空, 0, 退格 (and optional extra keys such as "X" for ID numbers). */
export function numericKeypad(getInput, { extra = [] } = {}) {
  const pad = h("div", { class: "keypad", role: "group", "data-testid": "keypad" });
  for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) pad.append(key(d, () => typeInto(target(getInput), d)));
  pad.append(key(T.clear, () => clearInput(target(getInput)), { cls: "key fn", testid: "clear" }));
  pad.append(key("0", () => typeInto(target(getInput), "0")));
  pad.append(key(`⌫ ${T.backspace}`, () => backspace(target(getInput)),
    { cls: "key fn", testid: "backspace", aria: T.backspace }));
  for (const x of extra) pad.append(key(x, () => typeInto(target(getInput), x)));
  return pad;
}

const ROWS = ["1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"];

/** A letter keyboard for pinyin initials and codes: digits, QWERTY, 退格, 清空. */
export function letterKeyboard(getInput, { digits = true, space = false, lower = true } = {}) {
  const kb = h("div", { class: "keyboard", role: "group", "data-testid": "keyboard" });
  const rows = digits ? ROWS : ROWS.slice(1);
  rows.forEach((row, i) => {
    const r = h("div", { class: "krow" });
    for (const ch of row) r.append(key(ch, () => typeInto(target(getInput), lower ? ch.toLowerCase() : ch)));
    if (i === rows.length - 1) {
      r.append(key(`⌫ ${T.backspace}`, () => backspace(target(getInput)),
        { cls: "key fn wide", testid: "backspace", aria: T.backspace }));
    }
    kb.append(r);
  });
  const last = h("div", { class: "krow" });
  if (space) last.append(key(T.space, () => typeInto(target(getInput), " "), { cls: "key fn wide", testid: "space" }));
  last.append(key(T.clear, () => clearInput(target(getInput)), { cls: "key fn wide", testid: "clear" }));
  kb.append(last);
  return kb;
}
