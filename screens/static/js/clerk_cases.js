// The clerk's case-registration panel (受理登记) and today's cases with their
// deadlines (限时办结). Personal data typed here is sent once and the form is
// cleared; lists show only what the API returns (masked names and numbers).
import T from "../i18n/clerk.js";
import C from "../i18n/common.js";
import { ApiError, api, qs } from "./api.js";
import { icon } from "./icons.js";
import { cardUsed, usingCard } from "./clerk_idcard.js";
import { noticeLink, receiptLink } from "./clerk_receipt.js";
import { clear, h } from "./ui.js";

/** The certificate types a clerk may register, in the order offered (names: i18n/common.js). */
const CERT_TYPES = ["111", "113", "112", "414", "516", "511", "001", "990"].map((code) => [code, C.certTypes[code]]);

let fieldSeq = 0;

// Every box has a real <label for> (screen readers, axe); `target` is the input when `input` wraps it.
function field(label, input, cls = "", target = input) {
  if (!target.id) target.id = `case-f${++fieldSeq}`;
  return h("div", { class: `field ${cls}` }, h("label", { text: label, for: target.id }), input);
}

function text(testid, max, extra = {}) {
  return h("input", { type: "text", maxlength: max, autocomplete: "off", "data-testid": testid, ...extra });
}

export async function mountCasePanel(box, { session, getCurrent, toast, onChange = () => {} }) {
  clear(box, h("h2", {}, icon("case"), T.caseTitle), h("div", { class: "muted", text: T.loading }));
  let cases;
  try {
    cases = await api.get(`/api/cases${qs({ window: session.window, limit: 30 })}`);
  } catch (err) {
    const gone = err instanceof ApiError && (err.missing || err.status === 503);
    clear(box, h("h2", {}, icon("case"), T.caseTitle),
      h("div", { class: "note info", "data-testid": "case-unavailable" }, icon("info"),
        gone ? T.caseUnavailable : err.message));
    return;
  }

  // ---------------------------------------------------------------- the form
  let item = null;
  const itemInput = text("case-item", 40, { placeholder: T.caseItemSearch });
  const itemChosen = h("div", { class: "chosen-item", hidden: true, "data-testid": "case-item-chosen" });
  const suggest = h("div", { class: "suggest-list", hidden: true });
  const name = text("case-name", 50);
  const certType = h("select", { "data-testid": "case-cert-type" },
    CERT_TYPES.map(([v, l]) => h("option", { value: v, text: l })));
  const certNo = text("case-cert", 40, { inputmode: "text" });
  const phone = text("case-phone", 20, { inputmode: "tel" });
  const agentOn = h("input", { type: "checkbox", "data-testid": "case-agent-on" });
  const agentName = text("case-agent-name", 50);
  const agentCert = text("case-agent-cert", 40);
  const agentPhone = text("case-agent-phone", 20, { inputmode: "tel" });
  const agentBox = h("div", { class: "case-form wide", hidden: true },
    field(T.caseAgent, agentName), field(T.caseAgentCert, agentCert), field(T.caseAgentPhone, agentPhone));
  agentOn.addEventListener("change", () => { agentBox.hidden = !agentOn.checked; });
  const note = h("textarea", { maxlength: 500, rows: 2, "data-testid": "case-note" });
  const ticketLine = h("div", { class: "muted ticket-link" });
  const result = h("div", { class: "case-result", role: "status" });
  const submit = h("button", { type: "button", class: "btn primary", "data-testid": "case-submit" },
    icon("check"), T.caseSubmit);

  function choose(it) {
    clearTimeout(timer);   // a search still pending from typing must not reopen the list
    seq += 1;
    item = it;
    itemInput.value = "";
    suggest.hidden = true;
    clear(itemChosen, h("strong", { text: it.name }), h("span", { class: "muted", text: `　${it.case_kind_name || ""}　${
      it.promised_limit || ""}` }), noticeLink(it.impl_code), h("button", { type: "button", class: "btn toggle", text: "×", "aria-label": "清除",
      onclick: () => { item = null; itemChosen.hidden = true; } }));
    itemChosen.hidden = false;
  }

  let seq = 0;
  async function search() {
    const q = itemInput.value.trim();
    const cur = getCurrent();
    const mine = ++seq;
    const params = q ? { q, limit: 12 } : { category: cur ? cur.category : "", limit: 12 };
    if (!q && !cur) { suggest.hidden = true; return; }
    try {
      const r = await api.get(`/api/catalog/items${qs(params)}`);
      if (mine !== seq) return;
      clear(suggest, (r.items || []).map((it) => h("button", { type: "button", onclick: () => choose(it) },
        h("strong", { text: it.name }), h("span", { class: "muted", text: `　${it.department || ""}` }))));
      suggest.hidden = !(r.items || []).length;
    } catch { suggest.hidden = true; }
  }
  let timer = null;
  itemInput.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  itemInput.addEventListener("focus", search);

  function linkTicket() {
    const cur = getCurrent();
    ticketLine.textContent = cur ? T.caseTicket(cur.number) : T.caseNoTicket;
  }
  linkTicket();
  setInterval(linkTicket, 2000);

  function person(n, type, no, ph) {
    const p = { name: n.value.trim(), cert_type: type, cert_no: no.value.trim() };
    if (ph.value.trim()) p.phone = ph.value.trim();
    return p;
  }

  // 用身份证信息填写 (clerk_idcard.js): the inputs show the masked card, the service fills the applicant
  box.addEventListener("card-prefill", (e) => {
    const m = e.detail;
    for (const el of [name, certNo]) el.disabled = !!m;
    name.value = m ? m.name : "";
    certNo.value = m ? m.cert_no : "";
    if (m) certType.value = m.cert_type;
  });

  const fieldInputs = {
    item_code: itemInput, "applicant.name": name, "applicant.cert_type": certType, "applicant.cert_no": certNo,
    applicant: certNo, "applicant.phone": phone, "agent.name": agentName, "agent.cert_no": agentCert, agent: agentCert,
    "agent.phone": agentPhone, note,
  };
  submit.addEventListener("click", async () => {
    clear(result);
    for (const el of box.querySelectorAll(".field-error")) el.remove();
    for (const el of Object.values(fieldInputs)) { el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); }
    if (!item || !name.value.trim() || !certNo.value.trim()) {
      result.append(h("div", { class: "note bad" }, icon("alert"), T.caseNeed));
      return;
    }
    const cur = getCurrent();
    const card = usingCard();
    const req = { item_code: item.impl_code, applicant: person(name, certType.value, certNo, phone) };
    if (card) req.applicant_from_card = true;
    if (agentOn.checked) req.agent = person(agentName, "111", agentCert, agentPhone);
    if (note.value.trim()) req.note = note.value.trim();
    if (cur) req.ticket_id = cur.id;
    submit.disabled = true;
    try {
      const r = await api.post("/api/cases", req);
      const c = r.case;
      // the citizen's data has been sent: clear it from the screen
      if (card) { cardUsed(); for (const el of [name, certNo]) el.disabled = false; }
      for (const el of [name, certNo, phone, agentName, agentCert, agentPhone, note]) el.value = "";
      agentOn.checked = false;
      agentBox.hidden = true;
      item = null;
      itemChosen.hidden = true;
      clear(result, h("div", { class: "note ok", "data-testid": "case-done" }, icon("check"),
        h("div", {}, h("div", { text: T.caseDone(c.receipt_no) }),
          c.promised_finish_at ? h("div", { text: T.casePromised(c.promised_finish_at.slice(0, 10)) }) : null,
          c.deadline && c.deadline.note ? h("div", { class: "muted", text: c.deadline.note }) : null),
        receiptLink(c.id)));
      refreshList();
    } catch (err) {
      // the server names the failing field ("applicant.cert_no"): the message goes under that box
      const bad = fieldInputs[(err.body && err.body.error && err.body.error.field) || ""];
      const msg = h("div", { class: "note bad field-error", role: "alert", id: "case-error", "data-testid": "case-error" },
        icon("alert"), h("span", { text: err.message }));
      if (bad && bad.closest(".field") && !bad.closest("[hidden]")) {
        bad.closest(".field").append(msg);
        bad.setAttribute("aria-invalid", "true");
        bad.setAttribute("aria-describedby", "case-error");
        bad.focus({ preventScroll: true });
        bad.closest(".field").scrollIntoView({ block: "center" });
      } else {
        result.append(msg);
        msg.scrollIntoView({ block: "nearest" });
      }
    } finally {
      submit.disabled = false;
    }
  });

  // ---------------------------------------------------------------- today's cases
  const list = h("ul", { class: "case-list", "data-testid": "case-list" });
  const alerts = h("div", { class: "row" });

  function drawList(items) {
    clear(list, items.length ? items.map((c) => {
      const d = c.deadline || {};
      return h("li", {},
        h("div", { class: "row" }, h("strong", { text: c.item_name }), h("span", { class: "badge", text: c.status }),
          d.overdue ? h("span", { class: "badge bad" }, icon("alert"), T.overdue)
            : d.near ? h("span", { class: "badge warn" }, icon("clock"), T.dueSoon) : null),
        h("div", { class: "muted", text: `${c.receipt_no}　${c.applicant ? c.applicant.name : ""}${
          c.promised_finish_at ? `　${T.casePromised(c.promised_finish_at.slice(0, 10))}` : ""}` }, receiptLink(c.id)),
        (c.next || []).length ? h("div", { class: "row" }, c.next.map((st) => h("button", { type: "button", class: "btn",
          text: st, onclick: (e) => move(e.currentTarget, c.id, st) }))) : null);
    }) : h("li", { class: "muted", text: T.noCases }));
  }

  async function move(btn, id, status) {
    btn.disabled = true;
    try {
      await api.post(`/api/cases/${id}/status`, { status });
      refreshList();
    } catch (err) {
      toast(err.message, "bad");
      btn.disabled = false;
    }
  }

  async function refreshList() {
    onChange();
    try {
      const [r, a] = await Promise.all([api.get(`/api/cases${qs({ window: session.window, limit: 30 })}`),
        api.get("/api/cases/alerts")]);
      drawList(r.cases || []);
      clear(alerts, a.overdue ? h("span", { class: "badge bad" }, icon("alert"), `${T.overdue} ${a.overdue}`) : null,
        a.near ? h("span", { class: "badge warn" }, icon("clock"), `${T.dueSoon} ${a.near}`) : null);
    } catch { /* keep the list */ }
  }

  clear(box, h("h2", {}, icon("case"), T.caseTitle), alerts,
    h("div", { class: "case-form" },
      field(T.caseItem, h("div", {}, itemInput, suggest, itemChosen), "wide", itemInput),
      field(T.caseApplicant, name), field(T.caseCertType, certType),
      field(T.caseCertNo, certNo), field(T.casePhone, phone),
      h("label", { class: "check wide" }, agentOn, T.caseByAgent), agentBox,
      field(T.caseNote, note, "wide"),
      h("div", { class: "wide row" }, submit, ticketLine)),
    result,
    h("h2", {}, icon("list"), T.recentCases), list);
  drawList(cases.cases || []);
  refreshList();
}
