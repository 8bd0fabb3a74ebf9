// Layout fit measured from the live DOM (used by tests/test_screen_fit.py).
// Argument: { bodyMin, secondaryMin, secondary (selector), targetMin, scrollHint (selector), frameEdge (bool:
// a line cut where a scroll box meets the frame's header/footer counts, not only fixed/sticky bars) }.
// Returns the problems found and the smallest font / touch target on the page, so the test can
// name the element, the numbers and the case in its message:
//   hscroll   – the page scrolls sideways
//   clipped   – text cut off or spilling out of its box (ellipsis, hidden overflow, fixed-size box)
//   offscreen – an interactive element outside the viewport (or its scroll box's view) where no
//               visible scrollbar or scroll hint says that the box scrolls
//   overlaps  – two interactive elements on top of each other; covered – one hidden under another element
//   underChrome – text or a control partly hidden under the page's pinned chrome: a fixed or sticky bar, or
//               the frame's header/footer where a scroll box ends at its edge (a line cut in half there is
//               cut, even though the box scrolls: the citizen sees half a line and no reason to scroll)
//   smallText / smallTargets – below the screen's minima
(opts) => {
  const INTERACTIVE = "button, a[href], input:not([type=hidden]), select, textarea, [role=button], [role=tab], "
    + "[role=radio], [role=checkbox], [role=link]";
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;
  const r1 = (v) => Math.round(v * 10) / 10;
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return false;
    return el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  };
  const label = (el) => {
    let sel = el.tagName.toLowerCase();
    if (el.id) sel += `#${el.id}`;
    const tid = el.getAttribute("data-testid");
    if (tid) sel += `[data-testid=${tid}]`;
    else if (typeof el.className === "string" && el.className.trim()) sel += `.${el.className.trim().split(/\s+/).join(".")}`;
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").replace(/\s+/g, " ").trim().slice(0, 24);
    return `${sel} "${text}"`;
  };
  // boxes that cut off what is outside them (overflow other than visible), nearest first
  const clippers = (el) => {
    const out = [];
    for (let e = el.parentElement; e && e !== document.documentElement; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") out.push(e);
    }
    return out;
  };
  const scrolls = (e) => {
    const s = getComputedStyle(e);
    const y = /(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1;
    const x = /(auto|scroll)/.test(s.overflowX) && e.scrollWidth > e.clientWidth + 1;
    return { x, y };
  };
  // a scroll box says that it scrolls: a classic scrollbar takes room, or a hint (arrow/fade) is shown
  const saysItScrolls = (e) => {
    const barY = e.offsetWidth - e.clientWidth - parseFloat(getComputedStyle(e).borderLeftWidth)
      - parseFloat(getComputedStyle(e).borderRightWidth);
    const barX = e.offsetHeight - e.clientHeight - parseFloat(getComputedStyle(e).borderTopWidth)
      - parseFloat(getComputedStyle(e).borderBottomWidth);
    if (barY > 4 || barX > 4) return true;
    if (opts.scrollHint && (e.matches(opts.scrollHint) || e.querySelector(opts.scrollHint))) return true;
    return false;
  };
  const inside = (a, b, slack = 1, slackY = slack) => a.left >= b.left - slack && a.top >= b.top - slackY
    && a.right <= b.right + slack && a.bottom <= b.bottom + slackY;
  const intersect = (a, b) => ({ left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
    right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom) });
  const area = (r) => Math.max(0, r.right - r.left) * Math.max(0, r.bottom - r.top);
  const viewport = { left: 0, top: 0, right: vw, bottom: vh };

  const out = { hscroll: null, clipped: [], offscreen: [], overlaps: [], covered: [], underChrome: [], smallText: [],
    smallTargets: [], minFont: null, minTarget: null, counts: { text: 0, targets: 0 } };

  // ------------------------------------------------------------------ pinned chrome
  // What stays put while content scrolls: the frame's header and footer, and fixed or sticky bars (not a
  // dialog's backdrop, which covers the page on purpose, nor a passing toast).
  const chrome = [...document.querySelectorAll("body *")].filter((e) => {
    if (!visible(e) || e.closest(".toast")) return false;
    const pos = getComputedStyle(e).position;
    const pinned = pos === "fixed" || pos === "sticky";
    if (!pinned && !e.matches("header, footer, [role=banner], [role=contentinfo]")) return false;
    const r = e.getBoundingClientRect();
    return !pinned || area(intersect(r, viewport)) < 0.4 * vw * vh;
  }).filter((e, _, all) => !all.some((o) => o !== e && o.contains(e)));
  // the part of `r` a citizen sees: the viewport and every box that cuts off what is outside it
  const seen = (el, r) => {
    let v = intersect(r, viewport);
    for (const c of clippers(el)) v = intersect(v, c.getBoundingClientRect());
    return v;
  };
  // `r` (a text line or a control of `el`) is partly hidden under a pinned bar: the bar paints over it
  // (fixed/sticky), or the scroll box that holds it ends at the bar's edge and cuts it there
  const underChrome = (el, r, slack = 2) => {
    const v = seen(el, r);
    if (area(v) <= 0) return null;      // wholly out of view: the offscreen check speaks for controls
    for (const p of chrome) {
      if (p.contains(el) || el.contains(p)) continue;
      const pr = p.getBoundingClientRect();
      if (pr.right <= r.left + 1 || pr.left >= r.right - 1) continue;
      const pos = getComputedStyle(p).position;
      if ((pos === "fixed" || pos === "sticky") && area(intersect(r, pr)) > 4) return p;
      if (!opts.frameEdge) continue;
      if (r.bottom > v.bottom + slack && Math.abs(v.bottom - pr.top) <= 2) return p;   // cut at a footer's top edge
      if (r.top < v.top - slack && Math.abs(v.top - pr.bottom) <= 2) return p;        // cut at a header's bottom edge
    }
    return null;
  };
  const chromeNote = (el, r, p) => `${label(el)}: ${r1(r.left)},${r1(r.top)}–${r1(r.right)},${r1(r.bottom)} is cut `
    + `by ${label(p).split(" ")[0]} (${r1(p.getBoundingClientRect().top)}–${r1(p.getBoundingClientRect().bottom)})`;

  const se = document.scrollingElement || document.documentElement;
  if (se.scrollWidth > vw + 1 || document.body.scrollWidth > vw + 1) {
    out.hscroll = `page is ${Math.max(se.scrollWidth, document.body.scrollWidth)} px wide in a ${vw} px viewport`;
  }
  // a box that scrolls sideways hides half a row of keys or tiles: only whole-page layouts are allowed
  for (const el of document.querySelectorAll("body *")) {
    const s = getComputedStyle(el);
    if (/(auto|scroll)/.test(s.overflowX) && el.scrollWidth > el.clientWidth + 1 && visible(el)) {
      out.hscroll = (out.hscroll ? `${out.hscroll}; ` : "")
        + `${label(el).split(" ")[0]} scrolls sideways (${el.scrollWidth} px of content in ${el.clientWidth} px)`;
    }
  }
  const modal = [...document.querySelectorAll("[aria-modal=true]")].filter(visible).pop() || null;

  // ------------------------------------------------------------------ text
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg, script, style, template, .print-frame") || !visible(el)) continue;
    const own = [...el.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim());
    const isField = el.matches("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea, select");
    if (!own.length && !isField) continue;
    const s = getComputedStyle(el);
    const size = parseFloat(s.fontSize);
    out.counts.text += 1;
    const secondary = opts.secondary && el.closest(opts.secondary);
    const need = secondary ? opts.secondaryMin : opts.bodyMin;
    if (!out.minFont || size < out.minFont.px) out.minFont = { px: r1(size), el: label(el) };
    if (need && size < need - 0.05) {
      out.smallText.push(`${label(el)}: ${r1(size)} px < ${need} px${secondary ? " (secondary)" : ""}`);
    }
    // a scrolling ticker ([data-marquee], the board's notices) is cut at its window by design
    if (isField || el.closest("[data-marquee]")) continue;
    // an inline element's box is its text: measure against the block that lays it out
    let block = el;
    while (block.parentElement && getComputedStyle(block).display.startsWith("inline")
      && !block.matches(INTERACTIVE)) block = block.parentElement;
    const box = block.getBoundingClientRect();
    // ellipsis or hidden overflow on the element itself
    if (s.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1 && !/(auto|scroll)/.test(s.overflowX)) {
      out.clipped.push(`${label(el)}: text ${el.scrollWidth} px wide in a ${el.clientWidth} px box (cut off)`);
      continue;
    }
    if (s.overflowY !== "visible" && el.scrollHeight > el.clientHeight + 1 && !/(auto|scroll)/.test(s.overflowY)) {
      out.clipped.push(`${label(el)}: text ${el.scrollHeight} px tall in a ${el.clientHeight} px box (cut off)`);
      continue;
    }
    // text lines spilling out of the element's box or cut by a non-scrolling clipping ancestor
    // a text rect is the font's content area, taller than a tight line box (line-height < 1.4): allow that much
    const slackY = Math.max(2, 0.3 * size);
    const selfScrolls = scrolls(el);       // a scroll box's own text beyond its edge is reached by scrolling
    const range = document.createRange();
    for (const n of own) {
      range.selectNodeContents(n);
      for (const tr of range.getClientRects()) {
        if (tr.width < 1) continue;
        const host = el.closest(INTERACTIVE);
        const hostBox = host && host !== el ? host.getBoundingClientRect() : null;
        if (hostBox && !inside(tr, hostBox, 2, slackY)) {
          out.clipped.push(`${label(el)}: text at ${r1(tr.left)},${r1(tr.top)}–${r1(tr.right)},${r1(tr.bottom)} `
            + `spills out of its ${host.tagName.toLowerCase()} ${r1(hostBox.left)},${r1(hostBox.top)}–`
            + `${r1(hostBox.right)},${r1(hostBox.bottom)}`);
          break;
        }
        if (!selfScrolls.x && !selfScrolls.y && !inside(tr, box, 2, slackY)) {
          out.clipped.push(`${label(el)}: text at ${r1(tr.left)},${r1(tr.top)}–${r1(tr.right)},${r1(tr.bottom)} `
            + `spills out of its box ${r1(box.left)},${r1(box.top)}–${r1(box.right)},${r1(box.bottom)}`);
          break;
        }
        // nearest box first: text beyond a box that scrolls is reachable by scrolling (stop there)
        let cut = null;
        for (const c of clippers(el)) {
          if (inside(tr, c.getBoundingClientRect(), 2, slackY)) continue;
          const sc = scrolls(c);
          if (!sc.x && !sc.y) cut = c;
          break;
        }
        if (cut) {
          out.clipped.push(`${label(el)}: text cut off by ${label(cut).split(" ")[0]} `
            + `(line bottom ${r1(tr.bottom)}, box bottom ${r1(cut.getBoundingClientRect().bottom)})`);
          break;
        }
        const bar = !modal || modal.contains(el) ? underChrome(el, tr, slackY) : null;
        if (bar) {
          out.underChrome.push(chromeNote(el, tr, bar));
          break;
        }
      }
    }
  }

  // ------------------------------------------------------------------ interactive elements
  const targets = [...document.querySelectorAll(INTERACTIVE)].filter((el) => visible(el)
    && !el.closest(".print-frame") && !el.disabled && (!modal || modal.contains(el))
    && !(el.parentElement && el.parentElement.closest(INTERACTIVE)));
  const shown = new Map();     // element → the part of it a citizen can see (viewport ∩ its clipping boxes)
  for (const el of targets) {
    out.counts.targets += 1;
    const r = el.getBoundingClientRect();
    if (!out.minTarget || Math.min(r.width, r.height) < Math.min(out.minTarget.w, out.minTarget.h)) {
      out.minTarget = { w: r1(r.width), h: r1(r.height), el: label(el) };
    }
    if (opts.targetMin && (r.width < opts.targetMin - 0.5 || r.height < opts.targetMin - 0.5)) {
      out.smallTargets.push(`${label(el)}: ${r1(r.width)}×${r1(r.height)} px < ${opts.targetMin}×${opts.targetMin}`);
    }
    let vis = intersect(r, viewport);
    let hiddenBy = null;
    let reachable = false;     // a box that visibly scrolls holds it: scrolling brings it in
    for (const c of clippers(el)) {
      const cr = c.getBoundingClientRect();
      vis = intersect(vis, cr);
      if (reachable || hiddenBy || inside(r, cr, 1)) continue;
      const sc = scrolls(c);
      if ((sc.x || sc.y) && saysItScrolls(c)) reachable = true;
      else hiddenBy = c;
    }
    if (!inside(r, viewport, 1) && !hiddenBy && !reachable) hiddenBy = document.documentElement;
    if (hiddenBy) {
      out.offscreen.push(`${label(el)}: box ${r1(r.left)},${r1(r.top)}–${r1(r.right)},${r1(r.bottom)} outside `
        + `${hiddenBy === document.documentElement ? `the ${vw}×${vh} viewport` : label(hiddenBy).split(" ")[0]}`
        + " with no visible sign that it scrolls");
    }
    if (area(vis) > 0) shown.set(el, vis);
    const bar = hiddenBy ? null : underChrome(el, r);
    if (bar) out.underChrome.push(chromeNote(el, r, bar));
  }
  const list = [...shown.entries()];
  for (let i = 0; i < list.length; i += 1) {
    for (let j = i + 1; j < list.length; j += 1) {
      const [a, ra] = list[i];
      const [b, rb] = list[j];
      if (a.contains(b) || b.contains(a)) continue;
      const x = intersect(ra, rb);
      const w = x.right - x.left;
      const hgt = x.bottom - x.top;
      if (w > 2 && hgt > 2) out.overlaps.push(`${label(a)} and ${label(b)} overlap by ${r1(w)}×${r1(hgt)} px`);
    }
  }
  // covered: the middle of the visible part belongs to something else (a footer over a tile, a stray box)
  for (const [el, v] of list) {
    if (v.right - v.left < 8 || v.bottom - v.top < 8) continue;   // a sliver at a scroll box's edge
    const pts = [[(v.left + v.right) / 2, (v.top + v.bottom) / 2], [v.left + 3, v.top + 3], [v.right - 3, v.bottom - 3]];
    for (const [x, y] of pts) {
      const hit = document.elementFromPoint(x, y);
      if (hit && hit !== el && !el.contains(hit) && !hit.contains(el) && !hit.closest(".toast")) {
        out.covered.push(`${label(el)} is covered at ${r1(x)},${r1(y)} by ${label(hit)}`);
        break;
      }
    }
  }
  return out;
}
