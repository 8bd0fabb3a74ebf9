// The home screen's tiles (one a task) and the 谢谢 screen a finished task ends on.
import T from "../i18n/kiosk.js";
import { icon } from "./icons.js";
import { drawPrinterBadge, printerBadge } from "./kiosk_printer.js";
import { screen } from "./kiosk_parts.js";
import { VIEWS, go, goHome } from "./kiosk_shell.js";
import { h } from "./ui.js";

const HOME_TILES = [
  ["take", "ticket"], ["guide", "guide"], ["progress", "progress"], ["appointment", "appointment"],
  ["rate", "rate"], ["suggest", "suggest"], ["scan", "scan"], ["board", "board"],
];

VIEWS.home = () => {
  const tiles = h("div", { class: "tiles home-tiles" });
  for (const [name, iconName] of HOME_TILES) {
    const t = T.tiles[name];
    const tile = h("button", { type: "button", class: "tile", "data-testid": `tile-${name}`, "data-speak": t.label,
      onclick: () => go(name) },
    h("span", { class: "tile-icon" }, icon(iconName)),
    h("span", { class: "tile-label", text: t.label }),
    h("span", { class: "tile-note", text: t.note }));
    if (name === "take") {
      const badge = printerBadge();
      tile.append(badge);
      drawPrinterBadge(badge);    // now inside the tile: it also says the state when read aloud
    }
    tiles.append(tile);
  }
  const node = screen(
    h("div", { class: "welcome" }, h("h1", { text: T.welcome }), h("p", { text: T.welcomeSub })),
    tiles);
  node.classList.add("home");
  return { node, speak: T.homeSpeak };
};

VIEWS.thanks = ({ title: t, sub }) => {
  const node = screen(h("div", { class: "thanks", "data-testid": "thanks" }, icon("finish", "icon big"),
    h("h1", { text: t }), h("p", { text: sub })));
  const timer = setTimeout(() => goHome(), 8000);
  return { node, speak: `${t}${sub}`, cleanup: () => clearTimeout(timer) };
};
