// The kiosk's on-screen pinyin keyboard: letters build a pinyin string, the service
// offers word candidates (GET /api/ime/candidates, built from jieba's dictionary), a
// touch on a candidate types it into the real <input>. Full pinyin (tousu), initials
// (ts) and a mix (chuangk) all work; a candidate that covers only the first letters
// (窗口 for chuangkouren) leaves the rest to go on with. A second page has digits and
// punctuation; 中/英 switches to typing letters straight into the field (codes, dbsq).
// All words come from i18n/kiosk.js (T.ime).
import T from "../i18n/kiosk.js";
import { api } from "./api.js";
import { backspace, clearInput, typeInto } from "./keypad.js";
import { clear, h } from "./ui.js";

const PAGE = 8;                      // candidates fetched at once; as many as fit are shown
const MAX_PINYIN = 30;
const LETTER_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
const SYMBOL_ROWS = [
  ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"],
  ["，", "。", "、", "？", "！", "：", "；", "“", "”"],
  ["（", "）", "《", "》", "—", "…", "·", "-", "/"],
];

const cache = new Map();             // "q|offset" → answer; the list only changes with a release
async function fetchPage(q, offset) {
  const key = `${q}|${offset}`;
  if (cache.has(key)) return cache.get(key);
  const data = await api.get(`/api/ime/candidates?q=${encodeURIComponent(q)}&offset=${offset}&limit=${PAGE}`);
  if (cache.size > 300) cache.delete(cache.keys().next().value);
  cache.set(key, data);
  return data;
}

function key(label, onPress, { cls = "key", testid, aria } = {}) {
  const b = h("button", { type: "button", class: cls, "data-key": testid || label, "aria-label": aria || label,
    "data-speak": aria || label, text: label });
  b.addEventListener("pointerdown", (e) => e.preventDefault());    // keep the input's focus
  b.addEventListener("click", onPress);
  return b;
}

/**
 * A pinyin keyboard typing into `input`. `onPending(letters)` hears the pinyin not yet
 * turned into hanzi (the guide search also searches by it, so dbsq still finds 低保申请).
 * Returns the element; `el.reset()` drops pending pinyin.
 */
export function pinyinKeyboard(input, { onPending = null } = {}) {
  let letters = "";
  let offset = 0;
  let more = false;
  let shown = 0;             // candidates that fit the row on this page
  let last = null;           // the answer on show, to fit again when the row's width changes
  const starts = [];         // offsets of the pages before this one (pages vary with what fits)
  let latin = false;
  let symbols = false;
  let seq = 0;

  const buffer = h("span", { class: "ime-buffer", "data-testid": "ime-buffer", "aria-live": "polite" });
  const cands = h("div", { class: "ime-cands", role: "group", "aria-label": T.ime.candidates,
    "data-testid": "ime-cands" });
  const prev = key("◀", () => turn(-1), { cls: "key fn ime-page", testid: "ime-prev", aria: T.ime.prevPage });
  const next = key("▶", () => turn(1), { cls: "key fn ime-page", testid: "ime-next", aria: T.ime.nextPage });
  const bar = h("div", { class: "ime-bar", "data-testid": "ime-bar" }, buffer, cands, prev, next);
  const keys = h("div", { class: "ime-keys" });
  const kb = h("div", { class: "keyboard ime", role: "group", "data-testid": "keyboard", "data-ime": "pinyin" },
    bar, keys);

  function setLetters(v) {
    letters = v.slice(0, MAX_PINYIN);
    offset = 0;
    starts.length = 0;
    if (onPending) onPending(letters);
    refresh();
  }

  async function refresh() {
    const mine = ++seq;
    buffer.textContent = letters;
    kb.classList.toggle("composing", letters.length > 0);
    if (!letters) { clear(cands); cands.dataset.q = ""; last = null; more = false; paint(); return; }
    let data;
    try {
      data = await fetchPage(letters, offset);
    } catch {
      if (mine === seq) {
        clear(cands, h("span", { class: "muted", text: T.ime.unavailable }));
        cands.dataset.q = letters;
        more = false;
        paint();
      }
      return;
    }
    if (mine !== seq) return;
    last = data;
    render(data);
  }

  function render(data) {
    clear(cands, ...(data.candidates.length ? data.candidates.map((c) => h("button", {
      type: "button", class: "ime-cand", "data-testid": "ime-cand", "data-take": c.take,
      "data-speak": c.text, "aria-label": c.text, text: c.text,
      onpointerdown: (e) => e.preventDefault(),
      onclick: () => choose(c),
    })) : [h("span", { class: "muted", text: T.ime.noCandidates })]));
    // Show only whole candidates: those past the row's end wait for the next page
    // (长辈模式 and narrow screens fit fewer).
    const edge = cands.getBoundingClientRect().right;
    const buttons = [...cands.querySelectorAll(".ime-cand")];
    shown = 0;
    for (const b of buttons) {
      if (shown > 0 && b.getBoundingClientRect().right > edge + 0.5) b.remove();
      else shown += 1;
    }
    more = Boolean(data.more) || shown < buttons.length;
    cands.dataset.q = letters;          // which pinyin this row answers (a tap on an older row is ignored)
    paint();
  }

  function paint() {
    prev.disabled = offset === 0;
    next.disabled = !more;
  }

  function turn(step) {
    if (!letters) return;
    if (step > 0) {
      if (!more) return;
      starts.push(offset);
      offset += shown;
    } else {
      if (!starts.length) return;
      offset = starts.pop();
    }
    refresh();
  }

  function choose(c) {
    if (cands.dataset.q !== letters) return;      // the row is still the one for fewer letters
    typeInto(input, c.text);
    setLetters(letters.slice(c.take));
  }

  function press(ch) {
    if (latin) { typeInto(input, ch); return; }
    setLetters(letters + ch);
  }

  function back() {
    if (letters) setLetters(letters.slice(0, -1));
    else backspace(input);
  }

  function space() {
    if (!letters) { typeInto(input, " "); return; }
    const first = cands.querySelector(".ime-cand");      // 空格 takes the first candidate, as on a PC
    if (first) first.click();
  }

  function wipe() {
    setLetters("");
    clearInput(input);
  }

  function layout() {
    const rows = [];
    if (symbols) {
      for (const row of SYMBOL_ROWS) {
        rows.push(h("div", { class: "krow" }, ...row.map((s) => key(s, () => typeInto(input, s)))));
      }
      rows[rows.length - 1].append(key(`⌫ ${T.ime.backspace}`, back, { cls: "key fn wide", testid: "backspace",
        aria: T.ime.backspace }));
    } else {
      LETTER_ROWS.forEach((row, i) => {
        // Capitals on the keys, as on a PC keyboard; pinyin is typed in lower case.
        const r = h("div", { class: "krow" }, ...[...row].map((ch) => key(ch.toUpperCase(), () => press(ch))));
        if (i === LETTER_ROWS.length - 1) {
          r.append(key(`⌫ ${T.ime.backspace}`, back, { cls: "key fn wide", testid: "backspace", aria: T.ime.backspace }));
        }
        rows.push(r);
      });
    }
    const last = h("div", { class: "krow" },
      key(symbols ? T.ime.toLetters : T.ime.toSymbols, () => { symbols = !symbols; layout(); },
        { cls: "key fn wide", testid: "ime-symbols", aria: symbols ? T.ime.toLettersSpoken : T.ime.toSymbolsSpoken }),
      symbols ? null : key(latin ? T.ime.latin : T.ime.chinese, () => {
        if (!latin && letters) { typeInto(input, letters); setLetters(""); }   // keep what was typed
        latin = !latin;
        kb.dataset.ime = latin ? "latin" : "pinyin";
        layout();
      }, { cls: "key fn wide", testid: "ime-mode", aria: latin ? T.ime.latinSpoken : T.ime.chineseSpoken }),
      key(T.ime.space, space, { cls: "key fn wider", testid: "space" }),
      key(T.ime.clear, wipe, { cls: "key fn wide", testid: "clear" }));
    clear(keys, ...rows, last);
  }

  // The row's width changes with 长辈模式, the screen's layout and late fonts: fit it again.
  let width = 0;
  new ResizeObserver(() => {
    const w = Math.round(cands.getBoundingClientRect().width);
    if (w !== width) {
      width = w;
      if (last && letters && cands.dataset.q === letters) render(last);
    }
  }).observe(cands);

  kb.reset = () => setLetters("");
  layout();
  refresh();
  return kb;
}
