// What the manager's working tabs share: dates on the hall's clock (the PC's own zone may differ)
// and the yes/no dialog before anything is removed, withdrawn or cancelled.
import C from "../i18n/common.js";
import T from "../i18n/manager.js";
import { h, hallTime, modal } from "./ui.js";

export const pad = (n) => String(n).padStart(2, "0");

export function todayIso() {
  const t = hallTime();
  return `${t.year}-${pad(t.month)}-${pad(t.day)}`;
}

export function addDays(iso, n) {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function dow(iso) {
  return new Date(`${iso}T12:00:00Z`).getUTCDay();
}

export function weekday(iso) {
  return T.weekdays[dow(iso)];
}

/** The hall's UTC offset now, as "+08:00" (for the booking's slot times). */
export function hallOffset() {
  const t = hallTime();
  const now = Date.now();
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
  const minutes = Math.round((asUtc - now) / 900000) * 15;
  const sign = minutes < 0 ? "-" : "+";
  const a = Math.abs(minutes);
  return `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

export function confirm(title, text, label, onYes) {
  modal({ title, body: [h("p", { text })], testid: "confirm", actions: [
    { label: C.cancel, cls: "btn" },
    { label, cls: "btn primary", testid: "confirm-yes", onClick: onYes },
  ] });
}
