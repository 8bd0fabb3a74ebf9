// 办事指南: items by category, by department or by search (pinyin keyboard), and an item's page with its
// materials, process, basics, conditions, basis and online link; blank forms print from here.
import C from "../i18n/common.js";
import T from "../i18n/kiosk.js";
import { ApiError, api, qs } from "./api.js";
import { icon } from "./icons.js";
import { flowDiagram, itemCat, itemDept, itemRow, listText, loadCatalog } from "./kiosk_catalog.js";
import { noticeButton } from "./kiosk_notice.js";
import { asList, categoryName, errorNote, inputBox, screen, title, unavailablePanel } from "./kiosk_parts.js";
import { pinyinKeyboard } from "./kiosk_pinyin.js";
import { VIEWS, fromKiosk, page, reader, toggles } from "./kiosk_shell.js";
import { button, clear, h, toast } from "./ui.js";

VIEWS.guide = ({ mode = "category", key = null } = {}) => {
  const body = h("div", { class: "guide-body" });
  const tabs = h("div", { class: "choices tabs", role: "tablist" });
  const node = screen(title("guide", T.guideTitle, T.guideSub), tabs, body);
  const view = { node, speak: T.guideSpeak };
  const setMode = (m, k = null) => {
    view.params = { mode: m };
    for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.mode === m));
    draw(m, k);
  };
  for (const [m, label, ic] of [["category", T.byCategory, "list"], ["department", T.byDepartment, "building"],
    ["search", T.search, "search"]]) {
    tabs.append(h("button", { type: "button", class: "choice", role: "tab", "data-mode": m,
      "data-testid": `guide-${m}`, "data-speak": label, onclick: () => setMode(m) },
    icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
  }

  async function draw(m, k) {
    clear(body, h("div", { class: "empty", text: C.loading }));
    let items;
    try {
      items = await loadCatalog();
    } catch (err) {
      clear(body, errorNote(err));
      return;
    }
    if (items === null) { clear(body, unavailablePanel()); return; }
    if (m === "search") { drawSearch(); return; }
    const groups = new Map();
    for (const it of items) {
      const g = m === "category" ? itemCat(it) : itemDept(it);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(it);
    }
    const keys = m === "category" ? page.categories.map((c) => c.prefix).filter((p) => groups.has(p))
      : [...groups.keys()].sort((a, b) => a.localeCompare(b, "zh-CN"));
    let current = k && groups.has(k) ? k : keys[0];
    const side = h("div", { class: "guide-side", role: "tablist" });
    const list = h("div", { class: "item-list", "data-testid": "item-list" });
    const pickGroup = (g) => {
      current = g;
      view.params = { mode: m, key: g };
      for (const b of side.children) b.setAttribute("aria-selected", String(b.dataset.key === g));
      clear(list, ...(groups.get(g) || []).map(itemRow));
      list.scrollTop = 0;
    };
    for (const g of keys) {
      const label = m === "category" ? `${g}　${categoryName(g)}` : g || "—";
      side.append(h("button", { type: "button", class: "side-btn", role: "tab", "data-key": g, "data-speak": label,
        onclick: () => pickGroup(g) },
      h("span", { text: label }), h("span", { class: "muted", text: T.itemCount(groups.get(g).length) })));
    }
    clear(body, h("div", { class: "guide-split" }, side, list));
    if (current !== undefined) pickGroup(current);
  }

  function drawSearch() {
    const { field, input } = inputBox({ label: T.searchHint, testid: "search-input", maxLength: 24,
      placeholder: T.searchPlaceholder });
    const count = h("div", { class: "muted", "data-testid": "search-count" });
    const list = h("div", { class: "item-list", "data-testid": "item-list" });
    let timer = null;
    let seq = 0;
    let pending = "";        // pinyin on the keyboard not yet turned into hanzi: searched too (dbsq)
    const run = async () => {
      const q = (input.value + pending).trim();
      const mine = ++seq;
      if (!q) { clear(list); count.textContent = ""; return; }
      try {
        const data = await api.get(`/api/catalog/items${qs({ q })}`);
        if (mine !== seq) return;
        const items = asList(data, "items");
        count.textContent = T.results(items.length);
        clear(list, items.length ? items.map(itemRow) : h("div", { class: "empty", text: T.noResults }));
      } catch (err) {
        if (mine === seq) clear(list, errorNote(err));
      }
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(run, 250); };
    input.addEventListener("input", later);
    clear(body, h("div", { class: "search-split" },
      h("div", { class: "search-left" }, field, pinyinKeyboard(input, { onPending: (p) => { pending = p; later(); } })),
      h("div", { class: "search-right" }, count, list)));
    input.focus();
  }

  setTimeout(() => setMode(mode, key), 0);
  return view;
};

VIEWS.item = ({ code }) => {
  const body = h("div", { class: "item-body" }, h("div", { class: "empty", text: C.loading }));
  const head = title("guide", T.guideTitle);
  const node = screen(head, body);
  const view = { node, speak: "" };
  (async () => {
    let it;
    try {
      it = await api.get(`/api/catalog/items/${encodeURIComponent(code)}`);
    } catch (err) {
      if (err instanceof ApiError && err.missing) clear(body, unavailablePanel());
      else clear(body, errorNote(err));
      return;
    }
    clear(head, icon("guide"), h("span", { text: it.name, "data-testid": "item-title" }),
      it.case_kind_name ? h("span", { class: "badge", text: it.case_kind_name }) : null,
      it.online ? h("span", { class: "badge ok" }, icon("qr"), T.online) : null);
    const fee = it.fee || {};
    const facts = [
      [T.promisedLimit, it.promised_limit_text, "clock"],
      [T.legalLimit, it.legal_limit_text, "law"],
      [T.fee, fee.charged ? fee.text : (fee.text || T.free), "money"],
      [T.visits, it.visits !== undefined && it.visits !== null ? T.visitsN(it.visits) : null, "people"],
      [T.department, it.implementing_body || it.department, "building"],
      [T.location, it.location, "pin"],
      [T.hours, it.hours, "clock"],
      [T.phone, it.phone, "phone"],
      [T.complaintPhone, it.complaint_phone, "phone"],
      [T.objects, listText(it.service_objects).join("、"), "user"],
      [T.forms, listText(it.handling_forms).join("、"), "list"],
      [T.result, it.result, "finish"],
    ].filter(([, v]) => v !== undefined && v !== null && v !== "");
    const factsNode = h("dl", { class: "facts", "data-testid": "facts" });
    for (const [k, v, ic] of facts) {
      factsNode.append(h("div", { class: "fact" }, icon(ic), h("dt", { text: k }), h("dd", { text: String(v) })));
    }

    const mats = listText(it.materials);
    const table = mats.length ? h("table", { class: "materials", "data-testid": "materials" },
      h("thead", {}, h("tr", {}, h("th", { text: "" }), h("th", { text: T.materialName }),
        h("th", { text: T.originals }), h("th", { text: T.copies }), h("th", { text: T.required }))),
      h("tbody", {}, mats.map((m, i) => h("tr", {},
        h("td", { class: "num", text: String(i + 1) }),
        h("td", {}, h("div", { class: "mat-name", text: m.name }),
          m.note ? h("div", { class: "mat-note", text: m.note }) : null,
          m.form_title ? h("div", { class: "mat-form" }, icon("printer"), T.hasBlankForm(m.form_title)) : null),
        h("td", { class: "num", text: T.copiesN(Number(m.originals || 0)) }),
        h("td", { class: "num", text: T.copiesN(Number(m.copies || 0)) }),
        h("td", {}, m.required === false ? h("span", { class: "badge", text: T.requiredNo })
          : h("span", { class: "badge ok" }, icon("check"), T.requiredYes))))))
      : h("p", { class: "muted", text: T.noMaterials });
    const forms = listText(it.forms).filter((f) => f.url);
    const formButtons = forms.map((f) => button(`${T.printForm}：${f.title}`, { icon: "printer", cls: "btn main",
      attrs: { "data-testid": `print-form-${f.n}` }, onClick: (e) => printForm(e.currentTarget, f) }));

    const steps = listText(it.process);
    const conditions = listText(it.conditions);
    const basis = listText(it.policy_basis);
    const sections = [
      ["materials", T.materials, "list", () => [table,
        h("div", { class: "row forms-row" }, formButtons, noticeButton(it.impl_code, fromKiosk))]],
      steps.length ? ["process", T.process, "next", () => [flowDiagram(steps)]] : null,
      ["basics", T.itemBasics, "info", () => [factsNode]],
      conditions.length ? ["conditions", T.conditions, "check", () => [
        h("ol", { class: "prose-list" }, conditions.map((c) => h("li", { text: c })))]] : null,
      basis.length ? ["basis", T.basis, "law", () => [
        h("ul", { class: "prose-list" }, basis.map((c) => h("li", { text: c })))]] : null,
      it.online && it.online_url ? ["online", T.onlineTab, "qr", () => [h("div", { class: "online", "data-testid": "online" },
        h("img", { class: "qr", alt: T.onlineTitle, src: `/screens/qr.svg${qs({ text: it.online_url })}` }),
        h("div", { class: "grow" }, h("h2", { text: T.onlineTitle }), h("p", { text: T.onlineHelp })))]] : null,
    ].filter(Boolean);
    const summary = h("div", { class: "item-summary" },
      [[T.promisedLimit, it.promised_limit_text, "clock"], [T.fee, fee.text || T.free, "money"],
        [T.location, it.location, "pin"]].filter(([, v]) => v).map(([k, v, ic]) =>
        h("span", { class: "sum" }, icon(ic), h("span", { class: "muted", text: `${k}：` }), h("strong", { text: v }))));
    const tabs = h("div", { class: "choices tabs", role: "tablist" });
    const panel = h("section", { class: "card item-panel", "data-testid": "item-panel", tabindex: "0" });
    const showTab = (key) => {
      for (const b of tabs.children) b.setAttribute("aria-selected", String(b.dataset.tab === key));
      const sec = sections.find((x) => x[0] === key);
      clear(panel, h("h2", {}, icon(sec[2]), sec[1]), sec[3]());
      panel.scrollTop = 0;
    };
    for (const [key, label, ic] of sections) {
      tabs.append(h("button", { type: "button", class: "choice", role: "tab", "data-tab": key,
        "data-testid": `item-tab-${key}`, "data-speak": label, onclick: () => showTab(key) },
      icon(ic), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen)));
    }
    clear(body, summary, tabs, panel);
    showTab("materials");
    view.speak = T.itemSpeak(it.name, it.promised_limit_text ? `${T.promisedLimit}${it.promised_limit_text}` : "");
    if (toggles.voice) reader.read(view.speak);
  })();
  return view;
};

/** Prints a blank form through the kiosk browser (Chromium --kiosk-printing sends it to the default printer). */
async function printForm(btn, form) {
  btn.disabled = true;
  const frame = h("iframe", { class: "print-frame", src: form.url, title: form.title, "aria-hidden": "true" });
  frame.addEventListener("load", () => {
    try {
      frame.contentWindow.focus();
      frame.contentWindow.print();
      toast(T.printFormDone, "ok");
    } catch {
      toast(`${T.printForm}${C.unavailable}`, "bad");
    } finally {
      btn.disabled = false;
      setTimeout(() => frame.remove(), 60000);
    }
  }, { once: true });
  document.body.append(frame);
}
