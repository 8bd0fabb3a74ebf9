// 预约签到: a booking code typed or read under the document camera turns into a ticket.
import T from "../i18n/kiosk.js";
import { ApiError, api } from "./api.js";
import { codeEntry } from "./kiosk_camera.js";
import { categoryName, errorNote, screen, title, unavailablePanel } from "./kiosk_parts.js";
import { VIEWS, fromKiosk, go } from "./kiosk_shell.js";
import { clear } from "./ui.js";

// ------------------------------------------------------------------ appointment check-in
VIEWS.appointment = () => {
  const node = screen(title("appointment", T.apptTitle, T.apptSub), codeEntry({
    field: { label: T.apptLabel, testid: "appt-input", maxLength: 16 },
    action: { label: T.checkIn, icon: "appointment", testid: "check-in" },
    send: async (code, { input, result }) => {
      let r;
      try {
        r = await api.post("/api/appointments/check-in", fromKiosk({ code }));
      } catch (err) {
        if (err instanceof ApiError && err.missing) { clear(result, unavailablePanel()); return; }
        clear(result, errorNote(err));
        return;
      }
      input.value = "";
      const t = r.ticket || {};
      go("ticket", { result: { ticket: t, number: t.number, category_name: categoryName(t.category), ahead: r.ahead,
        wait_minutes: r.wait_minutes, appointment: r.appointment, already: r.already } }, { replace: true });
    },
  }));
  return { node, speak: T.apptSpeak };
};
