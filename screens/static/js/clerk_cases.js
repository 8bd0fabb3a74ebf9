// The clerk's case-registration panel (受理登记). Drawn only when the records
// API is there; otherwise it says so plainly.
import T from "../i18n/clerk.js";
import { getOptional } from "./api.js";
import { icon } from "./icons.js";
import { clear, h } from "./ui.js";

export async function mountCasePanel(box, { session }) {
  clear(box, h("h2", {}, icon("case"), T.caseTitle));
  let probe = null;
  try { probe = await getOptional(`/api/cases?window=${session.window}`); } catch { probe = null; }
  if (probe === null) {
    box.append(h("div", { class: "note info", "data-testid": "case-unavailable" }, icon("info"), T.caseUnavailable));
  }
}
