// The kiosk's live stream: queue snapshots and events keep state.snap current for the screens, print
// results are kept for the ticket screen, and this kiosk's card reader and printer status come in here.
import { installCardReader, streamUrl } from "./kiosk_idcard.js";
import { loadPrinter, setPrinter } from "./kiosk_printer.js";
import { KIOSK, go, notify, offline, settings, state } from "./kiosk_shell.js";
import { LiveStream } from "./live.js";

/** Opens the stream (and the card reader on it); called once by kiosk.js. */
export function startLive() {
  const live = new LiveStream({
    url: () => streamUrl(KIOSK),
    kinds: ["ticket.issued", "ticket.called", "ticket.updated", "window.updated", "ticket.print", "printer.status"],
    onSnapshot: (snap) => { state.snap = snap; notify("snapshot", snap); loadPrinter(); },
    onEvent: (kind, data) => {
      if (kind === "printer.status") {
        // every printer's changes come by; only this kiosk's own printer matters here
        if (data && state.printer && data.name === state.printer.name) setPrinter({ ...state.printer, ...data });
        return;
      }
      // A print result can arrive before the kiosk has the issue answer: keep the recent ones.
      if (kind === "ticket.print" && data) {
        state.prints.set(data.id, data);
        if (state.prints.size > 50) state.prints.delete(state.prints.keys().next().value);
      }
      if (data && data.waiting && state.snap) {
        for (const c of state.snap.categories) if (c.prefix in data.waiting) c.waiting = data.waiting[c.prefix];
      }
      if (data && data.waits && state.snap) {   // a window paused or opened: the estimates follow
        for (const c of state.snap.categories) if (c.prefix in data.waits) c.wait_minutes = data.waits[c.prefix];
      }
      if (kind === "window.updated" && state.snap && data.window) {
        state.snap.windows = state.snap.windows.map((w) => (w.number === data.window.number ? data.window : w));
      }
      notify(kind, data);
    },
    onStatus: (s) => offline.show(s === "down"),
  }).start();

  installCardReader({ enabled: !!settings.idcard, stream: live,
    onRead: () => { if (!state.view || state.view.name !== "take") go("take"); } });
  return live;
}
