// The LED board as the technician sees it on /tech: the emulator's areas drawn as a dot matrix
// in the board's colours, so what a citizen would read on the wall can be checked from the desk.
const LED_COLORS = {
  red: ["#ff3b1f", "#2b0905"], yellow: ["#ffb000", "#2b1e03"], green: ["#39ff5a", "#06240b"],
  amber: ["#ffb000", "#2b1e03"], white: ["#ffffff", "#1f1f1f"],
};

/**
 * The LED board as it lights: each area's text drawn at the panel's own resolution (16 px rows,
 * like the font card's 16×16 font), thresholded to on/off pixels, then each pixel drawn as a dot.
 */
export function ledMatrix(view, { dot = 5 } = {}) {
  const W = view.width;
  const H = view.height;
  const off = document.createElement("canvas");
  off.width = W;
  off.height = H;
  const g = off.getContext("2d", { willReadFrequently: true });
  g.fillStyle = "#000";
  g.fillRect(0, 0, W, H);
  const colorAt = new Map();
  if (view.power_on !== false) {
    for (const a of view.areas || []) {
      g.save();
      g.beginPath();
      g.rect(a.x, a.y, a.width, a.height);
      g.clip();
      const px = Math.max(8, Math.min(a.height, 16 * Math.max(1, Math.floor(a.height / 16))));
      g.font = `${px}px "Noto Sans CJK SC", "Microsoft YaHei", "WenQuanYi Zen Hei", sans-serif`;
      g.textBaseline = "middle";
      g.fillStyle = "#fff";
      // the font card's cells: a full cell per hanzi, half a cell per ASCII character
      let x = a.x;
      for (const ch of a.text || "") {
        const w = ch.codePointAt(0) < 0x80 ? px / 2 : px;
        g.fillText(ch, x, a.y + a.height / 2 + 1, w);
        x += w;
        if (x >= a.x + a.width) break;
      }
      g.restore();
      colorAt.set(a.id, a.color || "red");
    }
  }
  const px = g.getImageData(0, 0, W, H).data;
  const big = document.createElement("canvas");
  big.width = W * dot;
  big.height = H * dot;
  big.className = "led-canvas";
  const b = big.getContext("2d");
  b.fillStyle = "#050505";
  b.fillRect(0, 0, big.width, big.height);
  const areaOf = (y) => (view.areas || []).find((a) => y >= a.y && y < a.y + a.height);
  const paths = new Map();
  const r = dot * 0.38;
  for (let y = 0; y < H; y += 1) {
    const area = areaOf(y);
    const [on, dim] = LED_COLORS[(area && colorAt.get(area.id)) || "red"] || LED_COLORS.red;
    for (let x = 0; x < W; x += 1) {
      const lit = px[(y * W + x) * 4] > 100;
      const key = lit ? on : dim;
      if (!paths.has(key)) paths.set(key, new Path2D());
      const p = paths.get(key);
      const cx = x * dot + dot / 2;
      const cy = y * dot + dot / 2;
      p.moveTo(cx + r, cy);
      p.arc(cx, cy, r, 0, Math.PI * 2);
    }
  }
  for (const [color, p] of paths) {
    b.fillStyle = color;
    b.fill(p);
  }
  return big;
}
