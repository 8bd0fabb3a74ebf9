// The agent's 台账 tab: the village's registrations with filters and export, and one record's
// detail (materials, photos, history) with the next steps it may take.
import T from "../i18n/agent.js";
import C from "../i18n/common.js";
import { newKey, shrinkPhoto } from "./agent_drafts.js";
import { call, content, state, store } from "./agent_page.js";
import { api, qs, request } from "./api.js";
import { icon } from "./icons.js";
import { button, clear, h, modal, toast } from "./ui.js";

const EDITABLE = new Set(["登记", "材料齐全", "退回补正"]);
const WIDE = window.matchMedia("(min-width: 900px)");

export async function drawLedger() {
  const wrap = h("div", { class: "ledger-wrap" });
  const listBox = h("section", { class: "card ledger-list" });
  const detailBox = h("section", { class: "card ledger-detail", "data-testid": "record-detail" });
  wrap.append(listBox, detailBox);
  clear(content, wrap);
  const chips = h("div", { class: "chips filters" });
  for (const [v, label] of [["", T.filterAll], ...Object.keys(T.states).map((s) => [s, T.states[s]])]) {
    chips.append(h("button", { type: "button", class: "chip", "aria-pressed": String(state.filter.state === v && !state.filter.overdue),
      onclick: () => { state.filter = { state: v, overdue: false }; drawLedger(); } }, label));
  }
  chips.append(h("button", { type: "button", class: "chip", "aria-pressed": String(state.filter.overdue),
    onclick: () => { state.filter = { state: "", overdue: true }; drawLedger(); } }, T.overdueOnly));
  const params = { state: state.filter.state, overdue: state.filter.overdue ? 1 : "" };
  const exportLink = h("a", { class: "btn export", href: `/api/village/records/export${qs(params)}`, download: "",
    "data-testid": "export" }, icon("list"), T.export);
  clear(listBox, h("h2", {}, icon("list"), T.ledgerTitle), chips, h("div", { class: "muted", text: C.loading }));
  let records;
  try {
    records = (await call(() => api.get(`/api/village/records${qs(params)}`))).records;
  } catch (err) {
    clear(listBox, h("h2", {}, icon("list"), T.ledgerTitle), h("div", { class: "note bad" }, icon("alert"), err.message));
    return;
  }
  const ul = h("ul", { class: "record-list", "data-testid": "record-list" });
  for (const r of records) {
    ul.append(h("li", { "data-testid": "record", "data-id": r.id, "data-state": r.state,
      "aria-current": String(state.selected === r.id), onclick: () => { state.selected = r.id; openRecord(r.id, detailBox, wrap); } },
    h("div", { class: "row" }, h("strong", { class: "grow", text: r.item_name }), stateBadge(r.state)),
    h("div", { class: "muted small" }, `${r.ref_no} · ${r.applicant.name} · ${r.kind}${r.special_group ? `（${r.special_group}）` : ""}`),
    h("div", { class: "row small" }, h("span", { class: "muted", text: T.timeFmt(r.registered_at) }),
      r.overdue ? h("span", { class: "badge bad", text: T.overdue }) : null,
      r.missing.length ? h("span", { class: "badge warn", text: T.missing(r.missing.join("、")) }) : null)));
  }
  clear(listBox, h("h2", {}, icon("list"), T.ledgerTitle), chips,
    records.length ? ul : h("p", { class: "empty", text: T.ledgerEmpty }), records.length ? exportLink : null);
  if (state.selected && records.some((r) => r.id === state.selected) && WIDE.matches) openRecord(state.selected, detailBox, wrap);
  else clear(detailBox, h("p", { class: "muted empty", text: T.detailPick }));
}

function stateBadge(s) {
  const cls = s === "办结" ? "ok" : s === "退回补正" ? "bad" : s === "已送乡镇" || s === "乡镇已接件" ? "" : "warn";
  return h("span", { class: `badge ${cls}`, "data-testid": "state", text: T.states[s] || s });
}

async function openRecord(id, box, wrap) {
  wrap.classList.add("show-detail");
  for (const li of wrap.querySelectorAll(".record-list li")) li.setAttribute("aria-current", String(Number(li.dataset.id) === id));
  clear(box, h("div", { class: "muted", text: C.loading }));
  let r;
  try {
    r = (await call(() => api.get(`/api/village/records/${id}`))).record;
  } catch (err) {
    clear(box, h("div", { class: "note bad" }, icon("alert"), err.message));
    return;
  }
  const back = button(T.backToList, { icon: "back", cls: "btn toggle back-to-list", onClick: () => wrap.classList.remove("show-detail") });
  const editable = EDITABLE.has(r.state);
  const done = new Set(r.materials.filter((m) => m.done).map((m) => m.name));
  const matList = h("div", { class: "materials" }, r.materials.map((m) => {
    const tick = h("button", { type: "button", class: "tick", role: "checkbox", "aria-checked": String(done.has(m.name)),
      disabled: !editable, onclick: () => {
        if (done.has(m.name)) done.delete(m.name); else done.add(m.name);
        tick.setAttribute("aria-checked", String(done.has(m.name)));
        tick.replaceChildren(icon(done.has(m.name) ? "boxChecked" : "box"));
        saveTicks.hidden = false;
      } }, icon(done.has(m.name) ? "boxChecked" : "box"));
    return h("div", { class: "material" }, tick, h("div", { class: "grow" }, h("div", { class: "m-name", text: m.name }),
      h("span", { class: `badge ${m.required ? "warn" : ""}`, text: m.required ? T.required : T.optional })));
  }));
  const saveTicks = button(T.saveTicks, { cls: "btn", icon: "check", attrs: { hidden: true }, onClick: async () => {
    try {
      await call(() => request("PATCH", `/api/village/records/${id}`, { materials_done: [...done] }));
      toast(T.ticksSaved, "ok");
      openRecord(id, box, wrap);
    } catch (err) { toast(err.message, "bad"); }
  } });
  const photos = h("div", { class: "thumbs big" }, r.photos.map((p) => h("a", { href: `/api/village/records/${id}/photos/${p.id}`,
    target: "_blank", class: "thumb" }, h("img", { src: `/api/village/records/${id}/photos/${p.id}`, alt: p.material || T.otherPhoto,
    loading: "lazy" }))));
  const shooter = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, hidden: true,
    "data-testid": "detail-photo" });
  shooter.addEventListener("change", async () => {
    const d = { key: newKey("x"), owner: state.session.staff_id, status: "queued", queued_at: new Date().toISOString(),
      record_id: id, body: null, title: `${T.addPhoto} · ${r.ref_no}`, photos: [] };
    for (const file of shooter.files) d.photos.push({ key: newKey("p"), material: "", blob: await shrinkPhoto(file), uploaded: false });
    shooter.value = "";
    await store.put(d);
    const outcome = await state.sender.send(d);
    if (outcome !== "sent") toast(T.savedLocal, "", 6000);
    openRecord(id, box, wrap);
  });
  const addPhoto = editable ? h("label", { class: "btn photo-btn" }, icon("camera"), h("span", { text: T.addPhoto }), shooter) : null;
  const steps = h("div", { class: "form-actions" }, r.next.map((s) => button(T.actions[s] || s, {
    cls: s === "已送乡镇" || s === "办结" ? "btn primary" : "btn", attrs: { "data-testid": `move-${s}` },
    onClick: () => move(r, s, box, wrap) })));
  const caseLine = r.case ? h("div", { class: "note info", "data-testid": "case-line" }, icon("case"),
    h("span", {}, T.caseLine(r.case.receipt_no, r.case.status), r.case.official_no ? `，${T.caseOfficial(r.case.official_no)}` : "")) : null;
  const tell = T.tellVillager[r.state] ? h("div", { class: `note ${r.state === "办结" ? "ok" : r.state === "退回补正" ? "bad" : "info"}` },
    icon(r.state === "办结" ? "check" : "info"), T.tellVillager[r.state]) : null;
  const history = h("ol", { class: "timeline", "data-testid": "history" }, r.history.map((x) => h("li", {},
    h("div", { class: "row" }, h("strong", { text: T.states[x.to] || x.to }), h("span", { class: "muted small", text: T.timeFmt(x.at) }),
      h("span", { class: "muted small", text: x.actor_name || "" })),
    x.note ? h("div", { class: "small", text: x.note }) : null)));
  clear(box, back,
    h("div", { class: "row" }, h("h2", { class: "grow", text: r.item_name }), stateBadge(r.state)),
    h("div", { class: "muted" }, `${T.ref} ${r.ref_no} · ${r.kind}${r.special_group ? `（${r.special_group}）` : ""}`),
    h("div", {}, `${T.applicantShort}：${r.applicant.name}　${r.applicant.cert_no}　${r.applicant.phone || ""}`),
    r.note ? h("div", { class: "muted small", text: r.note }) : null,
    tell, caseLine,
    h("h3", { text: T.materials }), matList, saveTicks,
    h("h3", { text: T.photos }), r.photos.length ? photos : h("p", { class: "muted", text: T.noPhotos }), addPhoto,
    steps,
    h("h3", { text: T.history }), history);
}

async function move(r, to, box, wrap) {
  const go = async () => {
    try {
      await call(() => api.post(`/api/village/records/${r.id}/state`, { state: to }));
      toast(T.moved(T.states[to] || to), "ok");
      state.selected = r.id;
      await drawLedger();
      const fresh = document.querySelector(".ledger-wrap");
      if (fresh) openRecord(r.id, fresh.querySelector(".ledger-detail"), fresh);
    } catch (err) { toast(err.message, "bad", 6000); }
  };
  const ask = to === "已送乡镇" ? T.confirmHandover : to === "办结" ? T.confirmFinish : null;
  if (!ask) return go();
  modal({ title: T.actions[to], body: [h("p", { text: ask })], testid: "move-confirm",
    actions: [{ label: C.cancel }, { label: T.actions[to], cls: "btn primary", testid: "move-yes", onClick: go }] });
}


// The township's steps (接件, 办结, 退回补正) show up without a reload: the ledger list refreshes
// itself while it is on screen (never under an open detail, where the agent may be ticking boxes).
setInterval(() => {
  if (state.session && state.tab === "ledger" && document.visibilityState === "visible"
      && !document.querySelector(".ledger-wrap.show-detail")) drawLedger();
}, 60000);
