// 取号: the lanes (普通 / 绿色通道), the categories with their waiting counts and estimates, the
// ID-card panel, and the issue request; on success the ticket screen takes over.
import C from "../i18n/common.js";
import T from "../i18n/kiosk.js";
import { api } from "./api.js";
import { icon } from "./icons.js";
import { cardPanel, cardRefused } from "./kiosk_idcard.js";
import { errorNote, screen, title } from "./kiosk_parts.js";
import { printerTrouble } from "./kiosk_printer.js";
import { VIEWS, fromKiosk, go, page, reader, settings, state, toggles } from "./kiosk_shell.js";
import { clear, h, modal, toast } from "./ui.js";

VIEWS.take = () => {
  let lane = "normal";
  let snap = state.snap;
  const grid = h("div", { class: "tiles cat-tiles", "data-testid": "categories" });
  const note = h("div", { class: "note info", hidden: true, "data-testid": "priority-note" },
    icon("info"), h("span", { text: T.priorityNote }));
  const printerNote = h("div", { class: "note bad", role: "status", "data-testid": "take-printer-note" });
  function drawPrinterNote() {
    const label = printerTrouble();
    printerNote.hidden = !label;
    clear(printerNote, ...(label ? [icon("printer"), h("span", { text: T.printerNote(label) })] : []));
  }
  drawPrinterNote();
  const laneBtn = (value, label, iconName) => {
    const b = h("button", { type: "button", class: "choice", role: "radio", "data-testid": `lane-${value}`,
      "data-speak": label, onclick: () => setLane(value) },
    icon(iconName), h("span", { text: label }), h("span", { class: "chosen" }, icon("check"), T.laneChosen));
    return b;
  };
  const lanes = h("div", { class: "choices", role: "radiogroup" },
    laneBtn("normal", T.laneNormal, "ticket"), laneBtn("priority", T.lanePriority, "priority"));

  function setLane(v) {
    lane = v;
    for (const b of lanes.children) b.setAttribute("aria-checked", String(b.dataset.testid === `lane-${v}`));
    note.hidden = v !== "priority";
    if (v === "priority" && toggles.voice) setTimeout(() => reader.read(T.prioritySpeak), 50);
  }

  function draw() {
    const cats = snap ? snap.categories : page.categories.map((c) => ({ ...c, waiting: 0, wait_minutes: 0 }));
    clear(grid);
    for (const c of cats) {
      const full = !!c.full;
      const t = h("button", { type: "button", class: "tile cat", "data-testid": `cat-${c.prefix}`,
        "aria-disabled": full ? "true" : null,
        "data-speak": full ? T.fullSpeak(c.name) : T.categorySpeak(c.name, c.waiting || 0),
        onclick: () => (full ? toast(T.fullSpeak(c.name), "bad") : issue(c.prefix, t)) },
      h("span", { class: "cat-prefix", text: c.prefix }),
      h("span", { class: "cat-name", text: c.name }),
      full ? h("span", { class: "badge bad" }, icon("alert"), T.full)
        : h("span", { class: "cat-meta" },
          h("span", { class: "badge" }, icon("people"), T.waiting(c.waiting || 0)),
          h("span", { class: "badge ok" }, icon("clock"), T.waitEstimate(c.wait_minutes || 0))));
      grid.append(t);
    }
  }

  let refreshTimer = null;
  async function refresh() {
    try {
      snap = await api.get("/api/queue");
      state.snap = snap;
      draw();
    } catch { /* keep the last numbers; the offline banner tells the rest */ }
  }

  async function issue(prefix, tile) {
    if (grid.dataset.busy) return;
    grid.dataset.busy = "1";
    tile.classList.add("pressed");
    const wait = modal({ title: T.issuing, body: [], dismiss: false, testid: "issuing" });
    try {
      const result = await api.post("/api/tickets", fromKiosk({ category: prefix, lane, ...card.fields() }));
      card.issued();
      wait.close();
      go("ticket", { result }, { replace: true });
    } catch (err) {
      wait.close();
      cardRefused(err);
      modal({ title: T.takeTitle, body: [errorNote(err)], actions: [{ label: C.ok, cls: "btn primary main" }] });
      refresh();
    } finally {
      delete grid.dataset.busy;
      tile.classList.remove("pressed");
    }
  }

  setLane("normal");
  draw();
  refresh();
  const card = cardPanel({ enabled: !!settings.idcard, setLane, speak: (text) => toggles.voice && reader.read(text) });
  const node = screen(h("div", { class: "take-head" }, title("ticket", T.takeTitle, T.takeSub), lanes), printerNote,
    card.node, note, grid);
  return {
    node, speak: T.takeSpeak,
    onEvent: (kind) => {
      if (kind === "printer") { drawPrinterNote(); return; }
      if (kind === "snapshot") { snap = state.snap; draw(); return; }
      if (kind === "ticket.issued" || kind === "ticket.updated" || kind === "ticket.called") {
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(refresh, 400);
      }
    },
    cleanup: () => { clearTimeout(refreshTimer); card.cleanup(); },
  };
};
