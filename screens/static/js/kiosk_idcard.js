// 刷身份证取号 on the kiosk's take-number screen. The kiosk's own reader sends each read on this page's
// live stream ("card.read", only to this kiosk's stream): a masked name (张*), an age, a read id and,
// for people at or above the hall's age, an offer of the 绿色通道 that the citizen confirms here.
// The ID number never reaches the page: the ticket request names the read id (see api_cards.py).
import T from "../i18n/kiosk_idcard.js";
import { deviceToken } from "./api.js";
import { icon } from "./icons.js";
import { follow } from "./live.js";
import { clear, h, modal } from "./ui.js";

let current = null;      // the read waiting for a category: {read_id, name, age, priority_offer, appointment, until}
let panel = null;        // the take screen's panel while it is shown
let expireTimer = null;

/**
 * The stream URL of this kiosk: card reads are sent only to the paired kiosk whose reader read them, and
 * EventSource cannot send the X-Hall-Device header, so the token goes in the query (never logged: api_events.py).
 */
export function streamUrl(kiosk) {
  const token = deviceToken();
  return `/api/events?scope=${encodeURIComponent(kiosk ? `kiosk:${kiosk}` : "kiosk")}`
    + (token ? `&device=${encodeURIComponent(token)}` : "");
}

/** Whether this kiosk is paired (pairing_pad.js sets body[data-paired]): card reads need it. */
function paired() {
  return document.body.dataset.paired === "yes";
}

/**
 * Listen for this kiosk's card reads. `onRead()` runs when a card arrives (the kiosk opens its take screen).
 * `stream` (the page's LiveStream) reconnects with the new token when the kiosk is paired or unpaired.
 * @param {{ enabled: boolean, onRead: () => void, stream?: { refreshUrl: () => void } }} o
 */
export function installCardReader({ enabled, onRead, stream = null }) {
  if (!enabled) return;
  new MutationObserver(() => {
    if (stream) stream.refreshUrl();
    if (!paired()) current = null;
    if (panel) panel.draw(false);
  }).observe(document.body, { attributes: true, attributeFilter: ["data-paired"] });
  follow(["card.read"], (kind, data) => {
    if (kind !== "card.read" || !data) return;
    current = { ...data, until: Date.now() + (data.expires_in || 60) * 1000 };
    clearTimeout(expireTimer);
    expireTimer = setTimeout(() => forget(), (data.expires_in || 60) * 1000);
    if (panel) panel.draw(true); else onRead();
  });
}

function forget() {
  current = null;
  clearTimeout(expireTimer);
  if (panel) panel.draw(false);
}

/** Clear the read (home, idle timeout): the next person must place their own card. */
export function clearCardRead() { forget(); }

/** After a refused ticket: a read the service no longer holds is dropped here too. */
export function cardRefused(err) {
  if (err && ["card_read_gone", "card_needs_pairing", "card_wrong_kiosk", "card_other_kiosk"].includes(err.code)) {
    forget();
  }
}

/** "取号人：张*" on the ticket screen when the number was taken with a card. */
export function holderLine(result) {
  return result && result.holder_name
    ? h("div", { class: "ticket-holder", "data-testid": "ticket-holder", text: T.holder(result.holder_name) }) : null;
}

/**
 * The take screen's panel. `setLane(lane)` chooses the lane; `speak(text)` reads aloud in voice mode.
 * Returns {node, fields(category) → extra ticket-request fields, issued(), cleanup()}.
 */
export function cardPanel({ enabled, setLane, speak }) {
  const node = h("div", { class: "note info card-read", "data-testid": "card-read", role: "status" });
  if (!enabled) node.hidden = true;
  function draw(fresh) {
    if (!enabled) return;
    if (current && Date.now() > current.until) current = null;
    if (!current && !paired()) {
      clear(node, icon("info"), h("span", { "data-testid": "card-needs-pairing", text: T.needsPairing }));
      node.dataset.state = "unpaired";
      return;
    }
    if (!current) {
      clear(node, icon("people"), h("span", { text: T.prompt }));
      node.dataset.state = "waiting";
      return;
    }
    const c = current;
    const appt = c.appointment;
    clear(node, icon("check"),
      h("div", { class: "card-read-text" },
        h("strong", { "data-testid": "card-read-name", text: T.read(c.name, c.age) }),
        h("div", { text: T.readSub }),
        appt ? h("div", { "data-testid": "card-read-appointment",
          text: T.appointment(appt.category_name, appt.slot_start.slice(11, 16), appt.slot_end.slice(11, 16)) })
          : null),
      h("button", { type: "button", class: "btn", "data-testid": "card-read-clear", "data-speak": T.clear,
        onclick: () => forget() }, T.clear));
    node.dataset.state = "read";
    if (fresh) {
      speak(T.readSpeak(c.name));
      if (c.priority_offer) offerPriority(c);
    }
  }
  function offerPriority(c) {
    modal({ title: T.priorityTitle, testid: "card-priority", dismiss: false,
      body: [h("p", { class: "lead", text: T.priorityBody(c.age) })],
      actions: [
        { label: T.priorityYes, cls: "btn primary main", testid: "card-priority-yes", onClick: () => setLane("priority") },
        { label: T.priorityNo, cls: "btn main", testid: "card-priority-no", onClick: () => setLane("normal") },
      ] });
  }
  panel = { draw };
  draw(!!current);
  return {
    node,
    fields: () => (current ? { card_read: current.read_id } : {}),
    issued: () => forget(),
    cleanup: () => { panel = null; },
  };
}
