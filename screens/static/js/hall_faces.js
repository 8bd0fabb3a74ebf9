// Faces on the 公示栏: the clerks' photos the manager uploaded (/api/staff/photos) and the hall's
// rules text (/api/hall/rules, one rule a line "名称：说明"; none set: the screen's shipped default).
// Shared by the kiosk's 公示栏, the evaluator's idle screen and the clerk list.
import { h } from "./ui.js";

let photos = null;

/** Which clerks have a photo: {staff id: updated_at}; asked once per call, failures mean "none". */
export async function loadFaces() {
  try {
    const r = await fetch("/api/staff/photos");
    photos = r.ok ? (await r.json()).photos || {} : {};
  } catch { photos = {}; }
  return photos;
}

/** The clerk's photo, or `fallback` (the initial-letter avatar) when there is none. */
export function face(staffId, alt, fallback) {
  const at = photos && staffId ? photos[staffId] : null;
  if (!at) return fallback;
  const cls = fallback && fallback.className ? fallback.className.replace(/\boff\b/, "").trim() : "avatar";
  return h("div", { class: cls, "data-testid": `face-${staffId}` },
    h("img", { src: `/api/staff/${encodeURIComponent(staffId)}/photo?v=${encodeURIComponent(at)}`, alt }));
}

/** The hall's rules as [name, text] pairs, or `fallback` when the manager has set none. */
export async function hallRules(fallback) {
  try {
    const r = await fetch("/api/hall/rules");
    const text = r.ok ? (await r.json()).text : null;
    if (!text) return fallback;
    return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const m = l.match(/^([^：:]{1,20})[：:](.*)$/);
      return m ? [m[1].trim(), m[2].trim()] : ["", l];
    });
  } catch { return fallback; }
}
