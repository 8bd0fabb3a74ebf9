// The start page: links to each screen, so a technician can set up each device.
import T from "../i18n/index.js";
import { icon } from "./icons.js";
import { h, masthead, pageData, watchHealth } from "./ui.js";

const page = pageData();
masthead(document.getElementById("masthead"), { hall: page.hall, subtitle: T.subtitle });
watchHealth(document.getElementById("banners"));
const stage = document.getElementById("stage");

function tile(href, [label, note], iconName, testid) {
  return h("a", { class: "tile", href, "data-testid": testid },
    h("span", { class: "tile-icon" }, icon(iconName)),
    h("span", { class: "tile-label", text: label }), h("span", { class: "tile-note", text: note }));
}

const evals = h("div", { class: "eval-links" }, page.windows.map((w) =>
  h("a", { class: "btn", href: `/evaluator/${w.number}`, text: T.evaluatorFor(w.number) })));
const tiles = h("div", { class: "tiles index-tiles" },
  tile("/kiosk", T.kiosk, "ticket", "go-kiosk"),
  tile("/board", T.board, "board", "go-board"),
  tile("/clerk", T.clerk, "user", "go-clerk"),
  h("div", { class: "tile as-card" }, h("span", { class: "tile-icon" }, icon("star")),
    h("span", { class: "tile-label", text: T.evaluator[0] }), h("span", { class: "tile-note", text: T.evaluator[1] }), evals));
stage.append(h("section", { class: "screen" },
  h("h1", { class: "screen-title" }, icon("home"), T.title), h("p", { class: "muted", text: T.hint }), tiles));

// Pages other parts of the service add later appear once they exist.
for (const [href, words, ic] of [["/manager", T.manager, "list"], ["/tech", T.tech, "keyboard"],
  ["/agent", T.agent, "people"], ["/villages", T.villages, "building"]]) {
  fetch(href, { method: "HEAD" }).then((r) => { if (r.ok) tiles.append(tile(href, words, ic, `go-${href.slice(1)}`)); })
    .catch(() => {});
}
