// 受理回执 and 一次性告知单 from the clerk console: print-styled pages the service renders
// (/clerk/cases/<id>/receipt, /guide/<code>/notice), opened in a new tab ready to print
// (A4/A5 through the browser: windows have no thermal printer).
import T from "../i18n/clerk.js";
import { icon } from "./icons.js";
import { h } from "./ui.js";

function printLink(href, label, testid) {
  return h("a", { class: "btn", href, target: "_blank", rel: "noopener", "data-testid": testid },
    icon("printer"), label);
}

/** 打印回执 for a registered case. */
export function receiptLink(caseId) {
  return printLink(`/clerk/cases/${encodeURIComponent(caseId)}/receipt?print=1`, T.printReceipt, "case-receipt");
}

/** 打印告知单 for a guide item. */
export function noticeLink(implCode) {
  return printLink(`/guide/${encodeURIComponent(implCode)}/notice?print=1`, T.printNotice, "case-notice");
}
