// The clerk console's village panel: 代办 the village agents handed over to the township. The clerk
// receives them (接件), sends them back for missing materials (退回补正) or registers the case from
// them (登记办件); the agent sees each step. Loaded by clerk.html next to the console; it appears
// once a clerk is signed in. It reloads when the hub says a 代办 was handed over or changed
// (village.incoming / village.updated, ids and states only), heard on the console's own live stream
// through `follow` (one stream per page, DESIGN.md §7), and after a fresh snapshot (events may have
// been missed). A slow poll stays as a safety net.
import T from "../i18n/clerk_village.js";
import C from "../i18n/common.js";
import { ApiError, api } from "./api.js";
import { icon } from "./icons.js";
import { follow } from "./live.js";
import { button, clear, h, modal, toast } from "./ui.js";

const EVERY_MS = 120000;   // the fallback poll; events bring changes at once
const SETTLE_MS = 150;     // one handover publishes two events: one reload for both
// the states /api/village/incoming lists; a record in any other state matters only if shown
const LISTED = new Set(["已送乡镇", "乡镇已接件"]);
const stage = document.getElementById("stage");
let panel = null;
let timer = null;
let lastCount = -1;
let shown = new Set();     // record ids on the panel
let soon = null;           // a reload asked for by events
let loading = null;        // the reload under way
let again = false;         // asked for while one was under way

follow(["village.incoming", "village.updated"], (kind, d) => {
  if (!panel) return;
  if (kind === "village.updated" && !LISTED.has(d.state) && !shown.has(d.record_id)) return;
  clearTimeout(soon);
  soon = setTimeout(load, SETTLE_MS);
});

function hhmm(iso) {
  return iso ? `${iso.slice(5, 10).replace("-", "/")} ${iso.slice(11, 16)}` : "";
}

function mount() {
  const side = stage.querySelector(".console .col-side");
  if (!side) {
    if (panel && !panel.isConnected) {
      panel = null; clearInterval(timer); timer = null; clearTimeout(soon); lastCount = -1; shown = new Set();
    }
    return;
  }
  if (panel && panel.isConnected) return;
  panel = h("section", { class: "card side-card village-panel", "data-testid": "village-panel" });
  side.append(panel);
  load();
  clearInterval(timer);
  timer = setInterval(load, EVERY_MS);
}

new MutationObserver(mount).observe(stage, { childList: true, subtree: false });
mount();

/** Reload the panel; calls while a reload is under way make one more reload after it. */
function load() {
  clearTimeout(soon);
  if (loading) { again = true; return loading; }
  loading = (async () => {
    do { again = false; await draw(); } while (again && panel);
  })().finally(() => { loading = null; });
  return loading;
}

async function draw() {
  if (!panel) return;
  let records;
  try {
    records = (await api.get("/api/village/incoming")).records;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
    clear(panel, h("h2", {}, icon("building"), T.title),
      h("div", { class: "note info" }, icon("info"), err.missing || err.status === 503 ? T.unavailable : err.message));
    return;
  }
  const fresh = records.filter((r) => r.state === "已送乡镇").length;
  if (lastCount >= 0 && fresh > lastCount) toast(`${T.title}：${fresh}`, "", 5000);
  lastCount = fresh;
  shown = new Set(records.map((r) => r.id));
  const list = h("ul", { class: "case-list village-list", "data-testid": "village-incoming" }, records.map((r) => h("li", {
    "data-testid": "village-record", "data-id": r.id, "data-state": r.state },
  h("div", { class: "row" }, h("strong", { class: "grow", text: r.item_name }),
    h("span", { class: `badge ${r.state === "已送乡镇" ? "warn" : ""}`, text: r.state === "已送乡镇" ? r.state : T.received })),
  h("div", { class: "muted", text: `${r.village} · ${r.ref_no} · ${r.applicant.name} · ${r.kind}${r.special_group ? `（${r.special_group}）` : ""}` }),
  h("div", { class: "muted", text: [T.handed(hhmm(r.handed_at)), T.photos(r.photo_count),
    r.missing.length ? T.missing(r.missing.join("、")) : ""].filter(Boolean).join(" · ") }),
  h("div", { class: "row" },
    r.state === "已送乡镇" ? button(T.receive, { cls: "btn primary", icon: "check", attrs: { "data-testid": "village-receive" },
      onClick: (e) => act(e.currentTarget, () => api.post(`/api/village/records/${r.id}/receive`, {}), T.received_ok(r.ref_no)) }) : null,
    r.state === "乡镇已接件" ? button(T.makeCase, { cls: "btn primary", icon: "case", attrs: { "data-testid": "village-case" },
      onClick: (e) => act(e.currentTarget, () => api.post(`/api/village/records/${r.id}/case`, {}),
        (res) => T.case_ok(res.case.receipt_no)) }) : null,
    button(T.sendBack, { cls: "btn", attrs: { "data-testid": "village-return" }, onClick: () => sendBack(r) }),
    button(T.view, { cls: "btn", onClick: () => view(r.id) })))));
  clear(panel, h("div", { class: "row" }, h("h2", { class: "grow" }, icon("building"), T.title,
    fresh ? h("span", { class: "badge warn", "data-testid": "village-count", text: String(fresh) }) : null),
  button(T.refresh, { cls: "btn toggle", icon: "recall", onClick: () => load() })),
  records.length ? list : h("p", { class: "muted", text: T.empty }));
}

async function act(btn, fn, done) {
  btn.disabled = true;
  try {
    const res = await fn();
    toast(typeof done === "function" ? done(res) : done, "ok", 6000);
  } catch (err) {
    toast(err.message, "bad", 6000);
  } finally {
    btn.disabled = false;
    load();
  }
}

function sendBack(r) {
  const note = h("textarea", { rows: 3, maxlength: 500, "data-testid": "village-return-note", style: { width: "100%" } });
  modal({ title: T.sendBackTitle, testid: "village-return-dialog", body: [h("p", { class: "muted", text: T.sendBackHint }), note],
    actions: [{ label: C.cancel }, { label: T.sendBack, cls: "btn primary", testid: "village-return-yes", onClick: async () => {
      if (note.value.trim().length < 2) { toast(T.sendBackNeed, "bad"); return false; }
      try {
        await api.post(`/api/village/records/${r.id}/return`, { note: note.value.trim() });
        toast(T.back_ok(r.ref_no), "ok");
      } catch (err) { toast(err.message, "bad", 6000); return false; }
      load();
      return true;
    } }] });
}

async function view(id) {
  let r;
  try { r = (await api.get(`/api/village/records/${id}`)).record; } catch (err) { toast(err.message, "bad"); return; }
  modal({ title: T.detailTitle(r.ref_no), testid: "village-detail", body: [
    h("p", {}, h("strong", { text: r.item_name }), `　${r.village}　${r.state}`),
    h("p", {}, `${T.applicant}：${r.applicant.name}　${r.applicant.cert_no}　${r.applicant.phone || ""}`),
    h("p", {}, `${T.kind}：${r.kind}${r.special_group ? `（${r.special_group}）` : ""}　${T.agent}：${r.agent_name || ""}`),
    r.note ? h("p", { class: "muted", text: `${T.note}：${r.note}` }) : null,
    h("ul", { class: "village-materials" }, r.materials.map((m) => h("li", {}, icon(m.done ? "boxChecked" : "box"), m.name))),
    h("div", { class: "village-photos" }, r.photos.map((p) => h("a", { href: `/api/village/records/${id}/photos/${p.id}`, target: "_blank" },
      h("img", { src: `/api/village/records/${id}/photos/${p.id}`, alt: p.material || "", loading: "lazy" })))),
    h("ol", { class: "village-history" }, r.history.map((x) => h("li", { text: `${hhmm(x.at)} ${x.to} ${x.actor_name || ""}${x.note ? `：${x.note}` : ""}` }))),
  ].filter(Boolean), actions: [{ label: T.close, cls: "btn primary" }] });
}
