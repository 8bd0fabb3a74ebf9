// The agent's 登记 tab: the registration form (item, materials with photos, kind, applicant),
// saved on the device as it is filled and queued for sending when submitted.
import T from "../i18n/agent.js";
import C from "../i18n/common.js";
import { guide, searchItems } from "./agent_catalog.js";
import { newKey, shrinkPhoto } from "./agent_drafts.js";
import { blobUrl, content, drawStatus, state, store } from "./agent_page.js";
import { checkMarks, icon } from "./icons.js";
import { button, clear, h, modal, toast } from "./ui.js";

function blankDraft() {
  return { key: newKey("v"), owner: state.session.staff_id, status: "editing", created_at: new Date().toISOString(),
    item: null, kind: "代办到乡镇", group: null, applicant: { name: "", cert_type: "111", cert_no: "", phone: "" },
    done: [], note: "", photos: [], record_id: null, body: null };
}

const ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idValid(n) {
  if (!/^\d{17}[\dX]$/.test(n)) return false;
  const s = ID_W.reduce((acc, w, i) => acc + w * Number(n[i]), 0);
  return "10X98765432"[s % 11] === n[17];
}

let saveTimer = null;
function autosave() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(async () => {
    if (state.draft) {
      await store.put(state.draft);
      drawStatus();
    }
  }, 300);
}

export function drawForm() {
  if (!state.draft) state.draft = blankDraft();
  const d = state.draft;
  const box = h("section", { class: "agent-form card", "data-testid": "agent-form" });

  // item
  const itemInput = h("input", { type: "search", maxlength: 40, placeholder: T.itemSearch, autocomplete: "off",
    "data-testid": "item-search", "aria-label": T.item });
  const suggest = h("div", { class: "suggest-list", hidden: true, "data-testid": "item-suggest" });
  let seq = 0;
  itemInput.addEventListener("input", async () => {
    const q = itemInput.value.trim();
    const mine = ++seq;
    if (!q) { suggest.hidden = true; return; }
    const items = await searchItems(q);
    if (mine !== seq) return;
    clear(suggest, items.length ? items.map((it) => h("button", { type: "button", "data-testid": "item-option",
      onclick: () => chooseItem(it) }, h("strong", { text: it.name }), h("span", { class: "muted", text: it.department || "" })))
      : h("div", { class: "muted empty-line", text: T.noItems }));
    suggest.hidden = false;
  });
  async function chooseItem(it) {
    suggest.hidden = true;
    itemInput.value = "";
    const g = await guide(it.impl_code);
    d.item = g || { impl_code: it.impl_code, name: it.name, village_level: false, materials: [] };
    d.done = [];
    if (d.kind === "在村办结" && !d.item.village_level) d.kind = "代办到乡镇";
    await store.put(d);
    drawForm();
  }
  const itemField = d.item
    ? h("div", { class: "chosen-item", "data-testid": "item-chosen" }, icon("check"), h("strong", { text: d.item.name }),
      button(T.itemChange, { cls: "btn toggle", onClick: async () => { d.item = null; d.done = []; await store.put(d); drawForm(); } }))
    : h("div", {}, itemInput, suggest, state.online ? null : h("p", { class: "muted small", text: T.itemOfflineHint }));

  // materials checklist with photos
  const mats = h("div", { class: "materials", "data-testid": "materials" });
  if (!d.item) mats.append(h("p", { class: "muted", text: T.materialsNone }));
  else {
    for (const m of d.item.materials) mats.append(materialRow(d, m));
    mats.append(materialRow(d, { name: "", other: true }));
  }

  // kind and group
  const kinds = h("div", { class: "chips", role: "radiogroup", "data-testid": "kinds" });
  for (const k of ["代办到乡镇", "上门代办", "在村办结"]) {
    const off = k === "在村办结" && d.item && !d.item.village_level;
    kinds.append(h("button", { type: "button", class: "chip", role: "radio", "aria-checked": String(d.kind === k),
      "data-testid": `kind-${k}`, disabled: off, title: off ? T.kindVillageOnly : null,
      onclick: () => { d.kind = k; if (k !== "上门代办") d.group = null; autosave(); drawForm(); } }, checkMarks(), T.kinds[k]));
  }
  const groups = h("div", { class: "chips", role: "radiogroup", "data-testid": "groups", hidden: d.kind !== "上门代办" });
  for (const g of T.groups) {
    groups.append(h("button", { type: "button", class: "chip", role: "radio", "aria-checked": String(d.group === g),
      "data-testid": `group-${g}`, onclick: () => { d.group = g; autosave(); drawForm(); } }, checkMarks(), g));
  }

  // applicant
  const a = d.applicant;
  const input = (key, attrs) => {
    const el = h("input", { type: "text", value: a[key] || "", autocomplete: "off", ...attrs });
    el.addEventListener("input", () => { a[key] = el.value.trim(); autosave(); });
    return el;
  };
  const certType = h("select", { "data-testid": "cert-type", "aria-label": T.certType },
    ["111", "113", "990"].map((v) => h("option", { value: v, text: C.certTypes[v], selected: a.cert_type === v })));
  certType.addEventListener("change", () => { a.cert_type = certType.value; autosave(); });
  const note = h("textarea", { rows: 2, maxlength: 500, placeholder: T.notePlaceholder, "data-testid": "note",
    "aria-label": T.note });
  note.value = d.note || "";
  note.addEventListener("input", () => { d.note = note.value; autosave(); });

  const err = h("div", { class: "note bad", hidden: true, role: "alert", "data-testid": "form-error" });
  const submit = button(T.submit, { icon: "check", cls: "btn primary main", attrs: { "data-testid": "submit" },
    onClick: () => submitDraft(err, submit) });
  const reset = button(T.clearForm, { cls: "btn", attrs: { "data-testid": "clear-form" }, onClick: () => {
    modal({ title: T.clearForm, body: [h("p", { text: T.clearConfirm })], testid: "clear-confirm", actions: [
      { label: C.cancel }, { label: T.clearForm, cls: "btn danger", onClick: async () => {
        await store.remove(d.key);
        state.draft = null;
        drawForm();
      } }] });
  } });

  clear(content, h("div", { class: "agent-page" }, box));
  clear(box,
    h("h2", {}, icon("case"), T.formTitle, d.status === "error" ? h("span", { class: "badge bad", text: T.draftState.error }) : null),
    d.error && d.error !== "login" ? h("div", { class: "note bad", "data-testid": "draft-error" }, icon("alert"), d.error) : null,
    h("div", { class: "field" }, h("label", { text: T.item }), itemField),
    h("div", { class: "field" }, h("label", { text: T.materials }), mats),
    h("div", { class: "field" }, h("label", { text: T.kind }), kinds),
    h("div", { class: "field", hidden: d.kind !== "上门代办" }, h("label", { text: T.group }), groups),
    h("fieldset", { class: "applicant" }, h("legend", { text: T.applicant }),
      h("div", { class: "grid2" },
        h("div", { class: "field" }, h("label", { text: T.name }), input("name", { maxlength: 50, "data-testid": "name", "aria-label": T.name })),
        h("div", { class: "field" }, h("label", { text: T.certType }), certType),
        h("div", { class: "field" }, h("label", { text: T.certNo }),
          input("cert_no", { maxlength: 40, inputmode: "text", "data-testid": "cert-no", autocapitalize: "characters",
            "aria-label": T.certNo })),
        h("div", { class: "field" }, h("label", { text: T.phone }),
          input("phone", { maxlength: 20, inputmode: "tel", type: "tel", "data-testid": "phone", "aria-label": T.phone })))),
    h("div", { class: "field" }, h("label", { text: T.note }), note),
    err,
    h("div", { class: "form-actions" }, submit, reset));
}

function materialRow(d, m) {
  const mine = d.photos.filter((p) => (p.material || "") === m.name);
  const input = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, hidden: true,
    "data-testid": m.other ? "photo-other" : `photo-${m.name}` });
  input.addEventListener("change", async () => {
    for (const file of input.files) {
      try {
        const blob = await shrinkPhoto(file);
        d.photos.push({ key: newKey("p"), material: m.name, blob, uploaded: false });
      } catch {
        toast(T.photoFailed, "bad");
      }
    }
    input.value = "";
    await store.put(d);
    drawForm();
  });
  const shoot = h("label", { class: "btn photo-btn", "data-testid": m.other ? "shoot-other" : "shoot" },
    icon("camera"), h("span", { text: T.takePhoto }), input);
  const thumbs = h("div", { class: "thumbs" }, mine.map((p) => h("span", { class: "thumb" },
    h("img", { src: blobUrl(p.blob), alt: m.name || T.otherPhoto }),
    h("button", { type: "button", class: "thumb-x", "aria-label": T.photoRemove, onclick: async () => {
      d.photos = d.photos.filter((x) => x !== p);
      await store.put(d);
      drawForm();
    } }, "×"))));
  if (m.other) return h("div", { class: "material other" }, h("span", { class: "grow muted", text: T.otherPhotoRow }), shoot, thumbs);
  const done = d.done.includes(m.name);
  const tick = h("button", { type: "button", class: "tick", role: "checkbox", "aria-checked": String(done),
    "data-testid": `tick-${m.name}`, onclick: () => {
      d.done = done ? d.done.filter((x) => x !== m.name) : [...d.done, m.name];
      autosave();
      drawForm();
    } }, icon(done ? "boxChecked" : "box"));
  return h("div", { class: `material ${done ? "done" : ""}` }, tick,
    h("div", { class: "grow" }, h("div", { class: "m-name", text: m.name }),
      h("div", { class: "muted small" }, h("span", { class: `badge ${m.required ? "warn" : ""}`, text: m.required ? T.required : T.optional }),
        " ", T.copies(m.originals, m.copies))),
    shoot, thumbs);
}

async function submitDraft(err, btn) {
  const d = state.draft;
  const a = d.applicant;
  const problems = [];
  if (!d.item) problems.push(T.check.item);
  if (!a.name) problems.push(T.check.name);
  if (!a.cert_no) problems.push(T.check.certNo);
  else if (a.cert_type === "111" && !idValid(a.cert_no.toUpperCase())) problems.push(T.check.idBad);
  if (a.phone && !/^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/.test(a.phone)) problems.push(T.check.phone);
  if (d.kind === "上门代办" && !d.group) problems.push(T.check.group);
  if (problems.length) {
    clear(err, icon("alert"), problems.join("；"));
    err.hidden = false;
    return;
  }
  btn.disabled = true;
  d.body = { item_code: d.item.impl_code, kind: d.kind, special_group: d.kind === "上门代办" ? d.group : null,
    applicant: { name: a.name, cert_type: a.cert_type, cert_no: a.cert_no.toUpperCase(), phone: a.phone || null },
    materials_done: d.done, note: d.note || null };
  d.title = d.item.name;
  d.who = a.name ? `${a.name.slice(0, 1)}${"*".repeat(Math.max(0, a.name.length - 1))}` : "";
  d.status = "queued";
  d.error = "";
  d.queued_at = new Date().toISOString();
  await store.put(d);
  state.draft = null;
  const outcome = await state.sender.send(d);
  if (outcome === "offline" || outcome === "queued") toast(T.savedLocal, "", 6000);
  if (outcome === "error") state.draft = await store.get(d.key);
  btn.disabled = false;
  drawStatus();
  if (state.tab === "form") drawForm();
}
