// The ticket on screen while it prints: the number, people ahead, the print result (from the stream or
// asked again) and 重新打印; a short idle time so the next person finds the home screen.
import T from "../i18n/kiosk.js";
import { ApiError, api } from "./api.js";
import { icon } from "./icons.js";
import { holderLine } from "./kiosk_idcard.js";
import { categoryName, screen } from "./kiosk_parts.js";
import { VIEWS, fromKiosk, goHome, settings, state } from "./kiosk_shell.js";
import { spellNumber } from "./speech.js";
import { busyAction, button, clear, h, toast } from "./ui.js";

const PRINT_OK = new Set(["printed", "ok", "done", "success"]);
const PRINT_BAD = new Set(["failed", "error", "paper_out", "offline", "timeout"]);
const PRINT_WAIT_MS = 10000;
const TICKET_IDLE_SECONDS = 30;

VIEWS.ticket = ({ result }) => {
  const t = result.ticket || {};
  const id = t.id;
  const number = result.number || t.number;
  const status = h("div", { class: "print-status", "data-testid": "print-status", role: "status" });
  const reprint = button(T.reprint, { icon: "printer", cls: "btn main", attrs: { "data-testid": "reprint" },
    onClick: () => doReprint() });
  reprint.hidden = true;
  let timer = null;

  function show(kind, text) {
    status.className = `print-status note ${kind}`;
    status.dataset.state = kind;
    clear(status, icon(kind === "ok" ? "check" : kind === "bad" ? "alert" : "printer"), h("span", { text }));
    reprint.hidden = kind === "ok" || kind === "info";
  }

  function printing() {
    show("info", T.printing);
    clearTimeout(timer);
    // the event normally tells us; ask the ticket itself too, in case the stream was down
    timer = setTimeout(() => check(true), PRINT_WAIT_MS / 3);
  }

  async function check(again) {
    try {
      const r = await api.get(`/api/tickets/${id}`);
      if (onPrint(r.ticket.print_status)) return;
    } catch { /* the event may still come */ }
    if (again) timer = setTimeout(() => check(false), PRINT_WAIT_MS * 2 / 3);
    else show("warn", T.printUnknown);
  }

  function onPrint(ps, message) {
    if (PRINT_OK.has(ps)) { clearTimeout(timer); show("ok", T.printed); return true; }
    if (PRINT_BAD.has(ps)) { clearTimeout(timer); show("bad", T.printFailed(message)); return true; }
    return false;
  }

  async function doReprint() {
    await busyAction(reprint, async () => {
      try {
        const r = await api.post(`/api/tickets/${id}/reprint`, fromKiosk({}));
        if (r && r.printer && r.printer.ready === false) show("bad", T.printFailed(r.printer.message));
        else printing();
      } catch (err) {
        if (err instanceof ApiError && err.missing) toast(T.reprintUnavailable, "bad");
        else throw err;
      }
    });
  }

  const printers = state.health ? (state.health.devices || []).filter((d) => d.kind === "printer") : null;
  if (result.printer && result.printer.state === "none") { show("warn", T.noPrinter); reprint.hidden = true; }
  else if (result.printer && result.printer.ready === false) show("bad", T.printFailed(result.printer.message));
  else if (state.prints.has(id)) { printing(); onPrint(state.prints.get(id).print_status, state.prints.get(id).message); }
  else if (PRINT_OK.has(t.print_status) || PRINT_BAD.has(t.print_status)) onPrint(t.print_status);
  else if (printers && printers.length === 0 && !result.printer) { show("warn", T.noPrinter); reprint.hidden = true; }
  else printing();

  const node = screen(
    h("div", { class: "ticket-card card", "data-testid": "ticket" },
      h("div", { class: "ticket-left" },
        h("div", { class: "ticket-head" }, icon("check"), h("span", { text: T.ticketTitle })),
        h("div", { class: "ticket-label", text: T.yourNumber }),
        h("div", { class: "ticket-number", "data-testid": "ticket-number", text: number }),
        h("div", { class: "ticket-cat" }, h("span", { text: result.category_name || categoryName(t.category) }),
          t.lane === "priority" ? h("span", { class: "badge warn" }, icon("priority"), T.lanePriorityTag) : null,
          t.lane === "appointment" ? h("span", { class: "badge ok" }, icon("appointment"), T.laneAppointmentTag)
            : null),
        holderLine(result)),
      h("div", { class: "ticket-right" },
        h("div", { class: "ticket-ahead", "data-testid": "ticket-ahead", text: T.ahead(result.ahead || 0) }),
        result.ahead > 0 ? h("div", { class: "ticket-est", text: T.estimate(result.wait_minutes || 0) }) : null,
        status,
        result.no_show_rule ? h("p", { class: "muted", text: result.no_show_rule }) : null,
        h("p", { class: "ticket-listen" }, icon("voice"), T.listen),
        h("div", { class: "row" }, reprint,
          button(T.done, { icon: "home", cls: "btn primary main", onClick: () => goHome(),
            attrs: { "data-testid": "done" } })))));
  return {
    node, speak: T.ticketSpeak(spellNumber(number), result.ahead || 0),
    idle: Math.min(settings.idle || 90, TICKET_IDLE_SECONDS),   // the next person should find the home screen
    onEvent: (kind, data) => {
      if (kind === "ticket.print" && data && data.id === id) onPrint(data.print_status, data.message);
    },
    cleanup: () => clearTimeout(timer),
  };
};
