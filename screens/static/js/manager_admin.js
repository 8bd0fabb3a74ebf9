// The manager's working tabs: attendance (考勤), the holiday duty roster
// (节假日轮流值班), notices for the kiosk and board, 差评 rectification and the
// complaint box, appointments booked for callers, and cases near or past their
// promised date (限时办结). Personal data arrives masked from the server and is
// shown as it comes; the only unmasked values are what the manager types into
// the booking form, which is cleared once sent.
// Each tab is its own file (manager_attendance.js, manager_roster.js, manager_notices.js,
// manager_rectify.js, manager_appointments.js, manager_cases.js); what they share: manager_admin_kit.js.
import { appointmentsPanel } from "./manager_appointments.js";
import { attendancePanel } from "./manager_attendance.js";
import { casesPanel } from "./manager_cases.js";
import { noticesPanel } from "./manager_notices.js";
import { rectifyPanel } from "./manager_rectify.js";
import { rosterPanel } from "./manager_roster.js";

export function adminPanels(ctx) {
  return [attendancePanel(ctx), rosterPanel(ctx), noticesPanel(ctx), rectifyPanel(ctx), appointmentsPanel(ctx),
    casesPanel(ctx)];
}
