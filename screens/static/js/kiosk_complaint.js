// 意见建议: 投诉 or 建议, reasons, the window it is about, a phone number and a note typed on the
// pinyin keyboard; 提交 stays in view under the reasons.
import C from "../i18n/common.js";
import T from "../i18n/kiosk.js";
import { ApiError, api, getOptional } from "./api.js";
import { checkMarks, icon } from "./icons.js";
import { numericKeypad } from "./keypad.js";
import { errorNote, inputBox, screen, title, unavailablePanel } from "./kiosk_parts.js";
import { pinyinKeyboard } from "./kiosk_pinyin.js";
import { VIEWS, go, page } from "./kiosk_shell.js";
import { busyAction, button, clear, h, toast } from "./ui.js";

// ------------------------------------------------------------------ complaints and suggestions
let reasonList = null;
async function loadReasons() {
  if (!reasonList) reasonList = await getOptional("/api/reasons");
  return reasonList;
}

VIEWS.suggest = () => {
  let kind = "投诉";
  let win = null;
  const reasons = new Set();
  const chips = h("div", { class: "chips", "data-testid": "reasons" }, h("span", { class: "muted", text: C.loading }));
  const kinds = h("div", { class: "choices", role: "radiogroup" });
  const wins = h("div", { class: "chips" });
  const phone = inputBox({ label: T.contactPhone, testid: "phone-input", maxLength: 11 });
  const note = inputBox({ label: T.noteLabel, testid: "note-input", maxLength: 120 });
  const keys = h("div", { class: "suggest-keys" });
  const useKeys = (input) => {
    clear(keys, input === phone.input ? numericKeypad(phone.input) : pinyinKeyboard(note.input));
  };
  phone.input.addEventListener("focus", () => useKeys(phone.input));
  note.input.addEventListener("focus", () => useKeys(note.input));
  for (const [k, label, ic] of [["投诉", T.kindComplaint, "alert"], ["建议", T.kindSuggestion, "suggest"]]) {
    kinds.append(h("button", { type: "button", class: "choice", role: "radio", "data-kind": k, "data-speak": label,
      "data-testid": `kind-${k}`, "aria-checked": String(k === kind), onclick: () => {
        kind = k;
        for (const b of kinds.children) b.setAttribute("aria-checked", String(b.dataset.kind === k));
      } }, icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
  }
  const winChip = (n, label) => h("button", { type: "button", class: "chip", "aria-pressed": String(n === win),
    "data-speak": label, onclick: (e) => {
      win = n;
      for (const b of wins.children) b.setAttribute("aria-pressed", String(b === e.currentTarget));
    } }, checkMarks(), label);
  wins.append(winChip(null, T.noWindow), ...page.windows.map((w) => winChip(w.number, T.mapWindow(w.number))));

  const submit = button(T.submit, { icon: "check", cls: "btn primary main", attrs: { "data-testid": "suggest-submit" },
    onClick: () => send() });
  const result = h("div", {});
  const split = h("div", { class: "suggest-split" },
    h("div", { class: "suggest-left" }, kinds, h("h2", { text: T.reasonsTitle }), chips,
      h("h2", { text: T.aboutWindow }), wins),
    h("div", { class: "suggest-right" }, phone.field, note.field, keys));
  // 提交 under both columns, always in view however long the reasons get (长辈模式 included)
  const body = h("div", { class: "suggest-body" }, split, h("div", { class: "row suggest-actions" }, submit, result));
  async function send() {
    if (reasons.size === 0 && !note.input.value.trim()) { toast(T.needReason, "bad"); return; }
    const p = phone.input.value.trim();
    if (p && !/^1[3-9]\d{9}$/.test(p)) { toast(T.phoneInvalid, "bad"); return; }
    await busyAction(submit, async () => {
      let r;
      try {
        r = await api.post("/api/complaints", { kind, reasons: [...reasons], text: note.input.value.trim() || null,
          contact_phone: p || null, window: win });
      } catch (err) {
        if (err instanceof ApiError && err.missing) { clear(result, unavailablePanel()); return; }
        throw err;
      }
      go("thanks", { title: T.suggestThanks, sub: T.suggestThanksSub(r.ref_no) }, { replace: true });
    });
  }
  (async () => {
    let list;
    try { list = await loadReasons(); } catch (err) { clear(chips, errorNote(err)); return; }
    if (list === null) { clear(body, unavailablePanel()); return; }
    clear(chips, list.complaint_reasons.map((r) => h("button", { type: "button", class: "chip", "aria-pressed": "false",
      "data-speak": r.text, "data-code": r.code, onclick: (e) => {
        const on = !reasons.has(r.code);
        if (on) reasons.add(r.code); else reasons.delete(r.code);
        e.currentTarget.setAttribute("aria-pressed", String(on));
      } }, checkMarks(), r.text)));
  })();
  useKeys(phone.input);
  const node = screen(title("suggest", T.suggestTitle, T.suggestSub), body);
  return { node, speak: T.suggestSpeak, busy: () => reasons.size > 0 };
};
