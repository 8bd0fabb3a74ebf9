// 办件进度: a receipt or case number typed or read under the document camera, and the case's state
// and history.
import T from "../i18n/kiosk.js";
import { ApiError, api, qs } from "./api.js";
import { icon } from "./icons.js";
import { codeEntry } from "./kiosk_camera.js";
import { flowDiagram } from "./kiosk_catalog.js";
import { errorNote, screen, title, unavailablePanel, when } from "./kiosk_parts.js";
import { VIEWS, go } from "./kiosk_shell.js";
import { clear, h } from "./ui.js";

// ------------------------------------------------------------------ progress query
VIEWS.progress = () => {
  const node = screen(title("progress", T.progressTitle, T.progressSub), codeEntry({
    field: { label: T.progressLabel, testid: "progress-input", maxLength: 32 },
    action: { label: T.query, icon: "search", testid: "query" },
    notes: [h("p", { class: "muted", text: T.progressHelp })],
    send: async (code, { input, result }) => {
      let data;
      try {
        data = await api.get(`/api/cases/progress${qs({ q: code })}`);
      } catch (err) {
        if (err instanceof ApiError && err.missing) { clear(result, unavailablePanel()); return; }
        if (err instanceof ApiError && err.status === 404) { clear(result, errorNote({ message: err.message || T.notFound })); return; }
        throw err;
      }
      input.value = "";
      go("caseResult", { data: data.case || data }, { replace: true });
    },
  }));
  return { node, speak: T.progressSpeak };
};

VIEWS.caseResult = ({ data: c }) => {
  const rows = [
    [T.caseReceipt, c.receipt_no],
    [T.caseNo, c.official_no || T.caseNoPending],
    [T.caseItem, c.item_name],
    [T.caseApplicant, c.applicant_name ? c.applicant_name + (c.agent ? T.byAgent : "") : null],
    [T.caseAccepted, when(c.accepted_at)],
    [T.casePromised, c.promised_finish_at ? when(c.promised_finish_at, { time: false }) : null],
    [T.caseFinished, when(c.finished_at)],
    [T.caseWindow, c.window ? T.mapWindow(c.window) : null],
  ].filter(([, v]) => v);
  const steps = (c.steps || []).map((st) => ({ name: st.status, detail: when(st.at) }));
  const node = screen(title("progress", T.progressTitle),
    h("div", { class: "card case-card", "data-testid": "case-result" },
      h("div", { class: "row" }, h("span", { class: "muted", text: T.caseStatus }),
        h("span", { class: "case-status", "data-testid": "case-status", text: c.status || "" })),
      h("dl", { class: "facts" }, rows.map(([k, v]) => h("div", { class: "fact" }, h("dt", { text: k }), h("dd", { text: v })))),
      c.deadline_note ? h("div", { class: "note info" }, icon("info"), h("span", { text: c.deadline_note })) : null,
      steps.length ? h("div", {}, h("h2", {}, icon("next"), T.caseHistory), flowDiagram(steps)) : null));
  return { node, speak: T.progressResultSpeak(c.item_name || "", c.status || "") };
};
