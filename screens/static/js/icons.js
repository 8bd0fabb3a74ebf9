// Line icons drawn for the hall screens (24×24, stroke = currentColor).
const P = {
  ticket: '<path d="M4 6h16v4a2 2 0 0 0 0 4v4H4v-4a2 2 0 0 0 0-4z"/><path d="M9 10h6M9 14h6"/>',
  guide: '<path d="M5 4.5A1.5 1.5 0 0 1 6.5 3H19v15H6.5A1.5 1.5 0 0 0 5 19.5z"/><path d="M5 19.5A1.5 1.5 0 0 0 6.5 21H19v-3M9 7h6M9 10.5h6"/>',
  progress: '<circle cx="10.5" cy="10.5" r="6.5"/><path d="M15.3 15.3 20.5 20.5"/><path d="M7.8 10.6l2 2 3.4-4"/>',
  appointment: '<rect x="3.5" y="5" width="17" height="15.5" rx="2"/><path d="M3.5 10h17M8 3v4M16 3v4"/><path d="M9 15l2.2 2.2L15.5 13"/>',
  rate: '<circle cx="12" cy="12" r="8.8"/><path d="M8.2 14.2a4.4 4.4 0 0 0 7.6 0"/><path d="M9 9.6v.2M15 9.6v.2"/>',
  suggest: '<path d="M4 4.5h16v11.5H10l-5 4v-4H4z"/><path d="M8 8.5h8M8 12h5"/>',
  scan: '<path d="M6.5 3h8l4 4v14h-12z"/><path d="M14.5 3v4h4"/><path d="M2.5 13.5h19"/>',
  board: '<rect x="3" y="3.5" width="18" height="13.5" rx="1.5"/><path d="M7.5 21l2-4M16.5 21l-2-4M7 7.5h10M7 10.5h10M7 13.5h6"/>',
  home: '<path d="M3 11.2 12 4l9 7.2"/><path d="M5.5 9.5V20h13V9.5"/><path d="M10 20v-5.5h4V20"/>',
  back: '<path d="M15 5l-7 7 7 7"/>',
  next: '<path d="M9 5l7 7-7 7"/>',
  large: '<path d="M2.5 19 7.5 5l5 14M4.3 14h6.4"/><path d="M17.5 8v8M13.5 12h8"/>',
  voice: '<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12"/>',
  voiceOff: '<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M16.5 9.5l5 5M21.5 9.5l-5 5"/>',
  printer: '<path d="M7 8V3.5h10V8"/><rect x="3" y="8" width="18" height="9" rx="2"/><path d="M7 13.5h10V21H7z"/>',
  check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  alert: '<path d="M12 3.5 21.5 20h-19z"/><path d="M12 10v4.5M12 17.2v.2"/>',
  info: '<circle cx="12" cy="12" r="9"/><path d="M12 11v6M12 7.6v.2"/>',
  phone: '<path d="M5.5 3.5h3.5l2 5-2.5 1.6a11 11 0 0 0 5.4 5.4l1.6-2.5 5 2v3.5A2 2 0 0 1 18.5 20.5 16 16 0 0 1 3.5 5.5 2 2 0 0 1 5.5 3.5z"/>',
  pin: '<path d="M12 21s-7-6.3-7-11.8a7 7 0 0 1 14 0C19 14.7 12 21 12 21z"/><circle cx="12" cy="9.2" r="2.5"/>',
  clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3.5 2"/>',
  money: '<circle cx="12" cy="12" r="9"/><path d="M8.5 6.8 12 11.5l3.5-4.7M12 11.5V18M8.8 12.5h6.4M8.8 15.3h6.4"/>',
  law: '<path d="M12 4v16M7 20h10M4.5 7.5h15"/><path d="M4.5 7.5 2 13a2.6 2.6 0 0 0 5 0zM19.5 7.5 17 13a2.6 2.6 0 0 0 5 0z"/>',
  qr: '<rect x="3.5" y="3.5" width="6.5" height="6.5"/><rect x="14" y="3.5" width="6.5" height="6.5"/><rect x="3.5" y="14" width="6.5" height="6.5"/><path d="M14 14h3v3h-3zM17.5 17.5h3v3h-3zM14 20.5h1.5M20.5 14v1.5"/>',
  user: '<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>',
  priority: '<path d="M12 20s-8-4.8-8-10.8A4.4 4.4 0 0 1 12 6.8a4.4 4.4 0 0 1 8 2.4C20 15.2 12 20 12 20z"/>',
  list: '<path d="M9 6h11M9 12h11M9 18h11M4.5 6v.2M4.5 12v.2M4.5 18v.2"/>',
  building: '<path d="M4.5 21V7.5L12 3.5l7.5 4V21"/><path d="M2.5 21h19M9.5 21v-5h5v5M8.5 10.5v.2M12 10.5v.2M15.5 10.5v.2"/>',
  keyboard: '<rect x="2.5" y="6" width="19" height="12" rx="2"/><path d="M6 10h.2M9.5 10h.2M13 10h.2M16.5 10h.2M7.5 14h9"/>',
  search: '<circle cx="10.5" cy="10.5" r="6.5"/><path d="M15.3 15.3 20.5 20.5"/>',
  call: '<path d="M6 16.5V11a6 6 0 0 1 12 0v5.5l2 2H4z"/><path d="M10 20.5a2 2 0 0 0 4 0"/>',
  recall: '<path d="M20 12a8 8 0 1 1-2.4-5.7"/><path d="M20 3.8V9h-5.2"/>',
  noshow: '<circle cx="9.5" cy="8" r="3.8"/><path d="M2.5 20.5a7 7 0 0 1 12.2-4.7M16 14l5 5M21 14l-5 5"/>',
  transfer: '<path d="M4 8h15l-4-4M20 16H5l4 4"/>',
  start: '<path d="M7.5 5v14l11-7z"/>',
  finish: '<circle cx="12" cy="12" r="9"/><path d="M7.8 12.3l3 3 5.4-6"/>',
  pause: '<circle cx="12" cy="12" r="9"/><path d="M10 8.5v7M14 8.5v7"/>',
  resume: '<circle cx="12" cy="12" r="9"/><path d="M10 8.5v7l5.5-3.5z"/>',
  box: '<rect x="4" y="4" width="16" height="16" rx="3"/>',
  boxChecked: '<rect x="4" y="4" width="16" height="16" rx="3"/><path d="M8 12.3l2.8 2.8L16.2 9"/>',
  star: '<path d="M12 3.2l2.7 5.6 6.1.8-4.5 4.2 1.1 6.1L12 17l-5.4 2.9 1.1-6.1-4.5-4.2 6.1-.8z"/>',
  logout: '<path d="M14.5 4H19v16h-4.5M10 8l-4 4 4 4M6 12h9.5"/>',
  case: '<rect x="4" y="3.5" width="16" height="17.5" rx="2"/><path d="M9 3.5V2.5h6v1M8 9h8M8 12.5h8M8 16h5"/>',
  map: '<path d="M3 6.5 9 4l6 2.5L21 4v13.5L15 20l-6-2.5L3 20z"/><path d="M9 4v13.5M15 6.5V20"/>',
  rules: '<path d="M6 3h12v18H6z"/><path d="M9 7.5h6M9 11h6M9 14.5h3.5"/>',
  people: '<circle cx="8.5" cy="8.5" r="3.2"/><circle cx="16.5" cy="9.5" r="2.6"/><path d="M2.5 20a6 6 0 0 1 12 0M14 15.2a5 5 0 0 1 7.5 4.3"/>',
  camera: '<path d="M3 8.5A1.5 1.5 0 0 1 4.5 7h3l1.6-2.2h5.8L16.5 7h3A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z"/><circle cx="12" cy="12.8" r="3.6"/>',
  wifiOff: '<path d="M3 3l18 18"/><path d="M8.5 16.5a5 5 0 0 1 7 0M5 12.8a10 10 0 0 1 5-2.6M19 12.8a10 10 0 0 0-3-2M2 9.2a14.5 14.5 0 0 1 4.2-2.6M22 9.2A14.5 14.5 0 0 0 11 5.6"/><path d="M12 20v.2"/>',
};

/** An inline 24×24 SVG element stroked in the text's colour, hidden from screen readers (the label speaks). */
function svg(className, strokeWidth, inner) {
  const tpl = document.createElement("template");
  tpl.innerHTML = `<svg class="${className}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="${strokeWidth}"
    stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">${inner}</svg>`;
  return tpl.content.firstElementChild;
}

/** An inline SVG icon element. */
export function icon(name, className = "icon") {
  return svg(className, "1.9", P[name] || P.info);
}

// Faces for the five rating levels: mouth curve and brows differ, so they read without colour.
const MOUTHS = {
  very_good: '<path d="M7 13.2c1.2 3.6 8.8 3.6 10 0z" fill="currentColor"/>',
  good: '<path d="M7.8 14a5 5 0 0 0 8.4 0"/>',
  fair: '<path d="M8.2 15.2h7.6"/>',
  bad: '<path d="M8 16.6a5 5 0 0 1 8 0"/>',
  very_bad: '<path d="M7.5 17.6c1.4-3.8 7.6-3.8 9 0"/><path d="M7 8.2l2.8 1.2M17 8.2l-2.8 1.2"/>',
};

export function face(level, className = "face") {
  return svg(className, "1.6", `<circle cx="12" cy="12" r="10"/><circle cx="8.7" cy="10.4" r="1.1" fill="currentColor" stroke="none"/>
    <circle cx="15.3" cy="10.4" r="1.1" fill="currentColor" stroke="none"/>${MOUTHS[level] || MOUTHS.fair}`);
}

/** The marks of a multi-choice chip: an empty box, or a ticked box when chosen (not colour alone). */
export function checkMarks() {
  const off = icon("box", "icon mark-off");
  const on = icon("boxChecked", "icon mark-on");
  return [off, on];
}
