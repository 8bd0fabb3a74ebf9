// The kiosk touchscreen (/kiosk): one task per screen, big tiles, 返回首页 and the
// idle countdown at the bottom, 长辈模式 and 语音 in the bottom-right corner.
// All words come from i18n/kiosk.js; personal data is cleared on every return home.
//
// This file only starts the kiosk. kiosk_shell.js holds the frame, the footer and the router; each
// screen registers itself in its VIEWS from its own file (imported here for that effect):
//   kiosk_home.js 首页 and 谢谢 · kiosk_take.js 取号 · kiosk_ticket.js the ticket · kiosk_guide.js 办事指南
//   kiosk_progress.js 办件进度 · kiosk_appointment.js 预约签到 · kiosk_rate.js 评价 · kiosk_complaint.js 意见建议
//   kiosk_scan.js 材料扫描 · kiosk_board.js 公示栏
// and the pieces they share: kiosk_parts.js, kiosk_catalog.js, kiosk_camera.js, kiosk_printer.js, kiosk_live.js.
import { startLive } from "./kiosk_live.js";
import { watchPrinter } from "./kiosk_printer.js";
import { goHome, go, idle, state } from "./kiosk_shell.js";
import "./kiosk_home.js";
import "./kiosk_take.js";
import "./kiosk_ticket.js";
import "./kiosk_guide.js";
import "./kiosk_progress.js";
import "./kiosk_appointment.js";
import "./kiosk_rate.js";
import "./kiosk_complaint.js";
import "./kiosk_scan.js";
import "./kiosk_board.js";

startLive();
watchPrinter();
window.hallKiosk = { go, goHome, state, idle };   // for the browser tests and field diagnosis
goHome();
