// 评价 at the kiosk: the ticket's rating QR read under the document camera, then the five levels and,
// for a bad one, its reasons (or a keypad rating's pending reasons, kiosk_reason.js).
import T from "../i18n/kiosk.js";
import { api } from "./api.js";
import { checkMarks, face, icon } from "./icons.js";
import { cameraButton, cameraScanAvailable } from "./kiosk_camera.js";
import { pendingReasonView } from "./kiosk_reason.js";
import { screen, title } from "./kiosk_parts.js";
import { VIEWS, go } from "./kiosk_shell.js";
import { spellNumber } from "./speech.js";
import { busyAction, button, clear, h, toast } from "./ui.js";

// ------------------------------------------------------------------ rating at the kiosk (ticket QR)
const LEVEL_KEYS = { 非常满意: "very_good", 满意: "good", 基本满意: "fair", 不满意: "bad", 非常不满意: "very_bad" };

/** The token in a ticket's rating QR (a URL ending in /r/<token>), or null. */
function ratingToken(text) {
  const m = /\/r\/([0-9]+-[A-Za-z0-9_-]+)\s*$/.exec(String(text || "").trim());
  return m ? m[1] : null;
}

VIEWS.rate = () => {
  const body = h("div", { class: "rate-body" });
  const node = screen(title("rate", T.rateTitle, T.rateSub), body);
  const scan = cameraButton(T.rateScan, (text) => open(text));
  async function open(text) {
    const token = ratingToken(text);
    if (!token) { toast(T.rateBadQr, "bad"); return; }
    try {
      const view = await api.get(`/api/ratings/ticket/${encodeURIComponent(token)}`);
      go("rateLevels", { view, token }, { replace: true });
    } catch (err) {
      toast(err.message, "bad");
    }
  }
  clear(body, h("div", { class: "rate-ways" },
    h("div", { class: "card way" }, icon("qr", "icon way-icon"), h("h2", { text: T.rateWayKiosk }),
      h("p", { text: T.rateWayKioskText }), scan,
      h("div", { class: "muted way-off", "data-testid": "rate-no-camera" }, icon("info"), T.rateNoCamera)),
    h("div", { class: "card way" }, icon("phone", "icon way-icon"), h("h2", { text: T.rateWayPhone }),
      h("p", { text: T.rateWayPhoneText })),
    h("div", { class: "card way" }, icon("star", "icon way-icon"), h("h2", { text: T.rateWayWindow }),
      h("p", { text: T.rateWayWindowText }))));
  cameraScanAvailable().then((ok) => {
    const off = body.querySelector(".way-off");
    if (off) off.hidden = ok;
  });
  return { node, speak: T.rateSpeak };
};

VIEWS.rateLevels = ({ view, token }) => {
  const pending = pendingReasonView(view, token, { frame: screen, title,
    onDone: (t, sub) => go("thanks", { title: t, sub }, { replace: true }) });
  if (pending) return pending;
  const svc = (view.services || []).find((x) => !x.rated || x.can_add);
  if (!view.servable || !svc) {
    const node = screen(title("rate", T.rateTitle),
      h("div", { class: "note info" }, icon("info"), h("span", { text: view.servable ? T.rateAlready : T.rateNotYet })));
    return { node, speak: view.servable ? T.rateAlready : T.rateNotYet };
  }
  let chosen = null;
  const reasons = new Set();
  const reasonBox = h("div", { class: "reasons", hidden: true });
  const submit = button(T.rateSubmit, { icon: "check", cls: "btn primary main", attrs: { "data-testid": "rate-submit" },
    onClick: () => send() });
  submit.hidden = true;
  const levels = h("div", { class: "levels" });
  for (const name of view.levels) {
    const key = LEVEL_KEYS[name] || "fair";
    levels.append(h("button", { type: "button", class: `level level-${key}`, "data-speak": name,
      "data-testid": `level-${key}`, onclick: (e) => choose(name, e.currentTarget) }, face(key), h("span", { text: name })));
  }
  const bad = new Set(view.bad_levels || ["不满意", "非常不满意"]);
  function choose(name, btn) {
    chosen = name;
    for (const b of levels.children) b.setAttribute("aria-pressed", String(b === btn));
    reasonBox.hidden = !bad.has(name);
    submit.hidden = false;
  }
  clear(reasonBox, h("h2", { text: T.rateReasonsTitle }), h("div", { class: "chips" }, (view.reasons || []).map((r) =>
    h("button", { type: "button", class: "chip", "data-speak": r.text, "aria-pressed": "false", onclick: (e) => {
      const on = !reasons.has(r.code);
      if (on) reasons.add(r.code); else reasons.delete(r.code);
      e.currentTarget.setAttribute("aria-pressed", String(on));
    } }, checkMarks(), r.text))));
  async function send() {
    if (!chosen) return;
    if (bad.has(chosen) && reasons.size === 0) { toast(T.rateNeedReason, "bad"); return; }
    await busyAction(submit, async () => {
      const r = await api.post("/api/ratings", { token, level: chosen, reasons: [...reasons], channel: "自助终端",
        case_id: svc.case_id, assess_number: svc.rated ? 2 : 1 });
      go("thanks", { title: T.rateThanks, sub: r.message || T.rateThanksSub }, { replace: true });
    });
  }
  const ask = T.rateAsk(view.number, view.window || "");
  const node = screen(title("rate", T.rateTitle, `${ask}${svc.label ? `（${svc.label}）` : ""}`), levels, reasonBox,
    h("div", { class: "row" }, submit));
  return { node, speak: T.rateAsk(spellNumber(view.number), view.window || ""), busy: () => chosen !== null };
};
