import T from "../i18n/kiosk.js";
import { api, qs } from "./api.js";
import { icon } from "./icons.js";
import { KIOSK, notify, state } from "./kiosk_shell.js";
import { clear, h } from "./ui.js";

// ------------------------------------------------------------------ this kiosk's printer
// Asked at start, on every reconnect and every 30 s; its "printer.status" events in between. The 取号 tile
// says 缺纸 / 离线 before a citizen presses, so nobody is surprised by a number without paper.
const PRINTER_POLL_MS = 30000;

export async function loadPrinter() {
  try {
    setPrinter(await api.get(`/api/printer${qs({ kiosk: KIOSK || undefined })}`));
  } catch { /* the offline banner says the rest; keep the last state */ }
}

export function setPrinter(p) {
  state.printer = p;
  for (const el of document.querySelectorAll("[data-printer-badge]")) drawPrinterBadge(el);
  notify("printer", p);
}

export function printerTrouble() {
  const p = state.printer;
  if (!p || p.ready) return null;
  return T.printerBadge[p.state] || T.printerBadge.offline;
}

export function printerBadge() {
  const el = h("span", { "data-printer-badge": "", "data-testid": "take-printer", hidden: true });
  drawPrinterBadge(el);
  return el;
}

export function drawPrinterBadge(el) {
  const label = printerTrouble();
  el.hidden = !label;
  el.className = label ? "badge bad printer-badge" : "printer-badge";
  el.dataset.state = state.printer ? state.printer.state : "";
  clear(el, ...(label ? [icon("printer"), h("span", { text: label })] : []));
  const tile = el.closest(".tile");
  if (tile) tile.dataset.speak = label ? `${T.tiles.take.label}。${T.printerBadgeSpeak(label)}` : T.tiles.take.label;
}
/** The first ask and the 30 s poll; called once by kiosk.js after the stream has started. */
export function watchPrinter() {
  loadPrinter();
  setInterval(loadPrinter, PRINTER_POLL_MS);
}
