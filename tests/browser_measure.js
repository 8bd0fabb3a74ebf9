// Large-mode rules measured from computed styles (used by test_browser_screens.py):
// text >= 24 px (18 pt), main buttons >= 40 px (30 pt), targets >= 60x60 px, contrast >= 4.5:1,
// and a chosen option shows a mark besides its colour.
() => {
  const px = (v) => parseFloat(v) || 0;
  const rgba = (c) => { const m = c.match(/[\d.]+/g) || []; return m.map(Number); };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bgOf = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none" && s.opacity !== "0";
  };
  const out = { small: [], lowContrast: [], smallTargets: [], smallMain: [], colourOnly: [] };
  for (const el of document.querySelectorAll("body *")) {
    if (!visible(el) || el.closest("svg")) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const s = getComputedStyle(el);
    if (own) {
      if (px(s.fontSize) < 24) out.small.push(`${el.tagName}.${el.className}: ${s.fontSize} "${el.textContent.trim().slice(0, 20)}"`);
      const fg = rgba(s.color), bg = bgOf(el);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      if (ratio < 4.5) out.lowContrast.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)} "${el.textContent.trim().slice(0, 20)}"`);
    }
    if (el.matches("button, a[href], input, select, textarea, [role=button], [role=tab], [role=radio]")) {
      const r = el.getBoundingClientRect();
      if (r.width < 60 || r.height < 60) out.smallTargets.push(`${el.tagName}.${el.className}: ${Math.round(r.width)}x${Math.round(r.height)} "${el.textContent.trim().slice(0, 20)}"`);
    }
    if (el.matches(".btn.main, .tile-label") && px(s.fontSize) < 40) {
      out.smallMain.push(`${el.className}: ${s.fontSize} "${el.textContent.trim().slice(0, 20)}"`);
    }
    if (el.matches("[aria-checked=true], [aria-pressed=true]") && !el.matches(".toggle")) {
      const marked = [...el.querySelectorAll(".chosen, svg")].some(visible);
      if (!marked) out.colourOnly.push(`${el.className} "${el.textContent.trim().slice(0, 20)}"`);
    }
  }
  return out;
}
