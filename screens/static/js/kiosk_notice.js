// 打印告知单 on the kiosk's guide page: the item's 一次性告知单 as a slip from THIS kiosk's printer
// (POST /api/catalog/items/<code>/notice/print with the terminal's id). The slip's content is built
// by the service, the same as the clerk's A4 page.
import T from "../i18n/kiosk.js";
import { api } from "./api.js";
import { busyAction, button, toast } from "./ui.js";

/** The button; `fromKiosk` adds this terminal's id to the request body (kiosk.js). */
export function noticeButton(code, fromKiosk) {
  const b = button(T.printNotice, { icon: "printer", cls: "btn main", attrs: { "data-testid": "print-notice" },
    onClick: () => busyAction(b, async () => {
      const r = await api.post(`/api/catalog/items/${encodeURIComponent(code)}/notice/print`, fromKiosk({}));
      toast(r && r.message ? r.message : T.printNoticeDone, "ok", 6000);
    }) });
  return b;
}
