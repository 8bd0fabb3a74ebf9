// 预约签到: a booking code typed or read under the document camera turns into a ticket.
import T from "../i18n/kiosk.js";
import { ApiError, api } from "./api.js";
import { letterKeyboard } from "./keypad.js";
import { cameraButton } from "./kiosk_camera.js";
import { categoryName, errorNote, inputBox, screen, title, unavailablePanel } from "./kiosk_parts.js";
import { VIEWS, fromKiosk, go } from "./kiosk_shell.js";
import { busyAction, button, clear, h } from "./ui.js";

// ------------------------------------------------------------------ appointment check-in
VIEWS.appointment = () => {
  const { field, input } = inputBox({ label: T.apptLabel, testid: "appt-input", maxLength: 16, upper: true });
  const result = h("div", { class: "entry-result" });
  const btn = button(T.checkIn, { icon: "appointment", cls: "btn primary main", attrs: { "data-testid": "check-in" },
    onClick: () => run() });
  async function run(code = input.value.trim()) {
    if (!code) return;
    await busyAction(btn, async () => {
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
    });
  }
  const node = screen(title("appointment", T.apptTitle, T.apptSub),
    h("div", { class: "entry-split" },
      h("div", { class: "entry-left" }, field, letterKeyboard(input, { lower: false })),
      h("div", { class: "entry-right" }, btn, cameraButton(T.scanQr, (c) => run(c)), result)));
  setTimeout(() => input.focus(), 0);
  return { node, speak: T.apptSpeak };
};
