// Charts drawn here as inline SVG: no chart library, nothing from the internet.
// Every chart carries its numbers as text too (value labels, <title> per bar),
// so it reads without colour and a screen reader gets the figures.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A round axis maximum ≥ v with `ticks` steps (1, 2, 5 × 10^n), so tick labels stay whole. */
export function niceMax(v, ticks = 4) {
  if (!(v > 0)) return ticks;
  const raw = v / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((m) => m >= raw) || 10 * p;
  const whole = Math.max(1, Math.ceil(step));   // counts are whole numbers
  return (step < 1 ? whole : step) * ticks;
}

function frame(width, height, label, testid) {
  return s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label,
    "data-testid": testid, preserveAspectRatio: "xMidYMid meet" }, s("title", {}, label));
}

/**
 * Vertical bars, one or more series side by side.
 * @param {object} o
 * @param {{label: string, values: number[]}[]} o.groups
 * @param {{name: string, cls: string}[]} o.series   cls picks the fill (CSS: .c1 … .c5)
 * @param {string} o.label         the chart's accessible name
 * @param {number} [o.labelEvery]  show every n-th x label (dense days)
 * @param {string} [o.empty]       text when every value is 0
 */
export function barChart({ groups, series, label, labelEvery = 1, empty = "", width = 640, height = 240,
  testid, unit = "" }) {
  const svg = frame(width, height, label, testid);
  const m = { l: 44, r: 10, t: 22, b: series.length > 1 ? 48 : 30 };
  const w = width - m.l - m.r;
  const hgt = height - m.t - m.b;
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values)));
  const y = (v) => m.t + hgt - (v / max) * hgt;
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    svg.append(s("line", { x1: m.l, x2: m.l + w, y1: y(v), y2: y(v), class: i ? "grid" : "axis" }),
      s("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, Number.isInteger(v) ? v : v.toFixed(1)));
  }
  const n = Math.max(1, groups.length);
  const slot = w / n;
  const gap = Math.min(slot * 0.25, 14);
  const bw = Math.max(2, (slot - gap) / series.length);
  const showValues = bw >= 14;
  groups.forEach((g, i) => {
    const x0 = m.l + i * slot + gap / 2;
    g.values.forEach((v, k) => {
      const x = x0 + k * bw;
      const top = y(v);
      const bar = s("rect", { x, y: top, width: Math.max(1, bw - 1), height: Math.max(0, m.t + hgt - top), rx: 2,
        class: `bar ${series[k].cls}` }, s("title", {}, `${g.label} ${series[k].name}：${v}${unit}`));
      svg.append(bar);
      if (showValues && v > 0) {
        svg.append(s("text", { x: x + (bw - 1) / 2, y: top - 5, "text-anchor": "middle", class: "val" }, v));
      }
    });
    if (i % labelEvery === 0) {
      svg.append(s("text", { x: m.l + i * slot + slot / 2, y: m.t + hgt + 18, "text-anchor": "middle", class: "xl" },
        g.label));
    }
  });
  if (empty && groups.every((g) => g.values.every((v) => !v))) {
    svg.append(s("text", { x: m.l + w / 2, y: m.t + hgt / 2, "text-anchor": "middle", class: "empty-text" }, empty));
  }
  if (series.length > 1) {
    let x = m.l;
    for (const se of series) {
      svg.append(s("rect", { x, y: height - 16, width: 14, height: 14, rx: 2, class: `key ${se.cls}` }),
        s("text", { x: x + 20, y: height - 4, class: "legend" }, se.name));
      x += 28 + se.name.length * 15;
    }
  }
  return svg;
}

/**
 * Horizontal 100 % stacked bars: one row per item (e.g. window), parts per series (e.g. rating level),
 * with a text on the right (e.g. "满意率 96.0%"). Rows with no data say so in words.
 */
export function stackedBars({ rows, series, label, empty = "", width = 640, rowHeight = 30, testid }) {
  const legendH = 26;
  const height = Math.max(1, rows.length) * (rowHeight + 8) + legendH + 8;
  const svg = frame(width, height, label, testid);
  const m = { l: 86, r: 150 };
  const w = width - m.l - m.r;
  rows.forEach((r, i) => {
    const y = 4 + i * (rowHeight + 8);
    svg.append(s("text", { x: m.l - 10, y: y + rowHeight / 2 + 5, "text-anchor": "end", class: "yl" }, r.label));
    const total = r.parts.reduce((a, b) => a + b, 0);
    if (!total) {
      svg.append(s("rect", { x: m.l, y, width: w, height: rowHeight, rx: 3, class: "track" }),
        s("text", { x: m.l + 10, y: y + rowHeight / 2 + 5, class: "none" }, empty));
    } else {
      let x = m.l;
      r.parts.forEach((v, k) => {
        if (!v) return;
        const pw = (v / total) * w;
        svg.append(s("rect", { x, y, width: pw, height: rowHeight, class: `bar ${series[k].cls}` },
          s("title", {}, `${r.label} ${series[k].name}：${v}`)));
        if (pw >= 22) {
          svg.append(s("text", { x: x + pw / 2, y: y + rowHeight / 2 + 5, "text-anchor": "middle",
            class: `in ${series[k].cls}` }, v));
        }
        x += pw;
      });
    }
    svg.append(s("text", { x: m.l + w + 10, y: y + rowHeight / 2 + 5, class: "right" }, r.right || ""));
  });
  let x = m.l;
  const ly = height - legendH + 6;
  for (const se of series) {
    svg.append(s("rect", { x, y: ly, width: 14, height: 14, rx: 2, class: `key ${se.cls}` }),
      s("text", { x: x + 19, y: ly + 12, class: "legend" }, se.name));
    x += 30 + se.name.length * 14;
  }
  return svg;
}
