// The technician's 县级上报 tab: the relay's state and backlog, its last error, and the dead
// letters with a retry button each. Words: i18n/tech.js.
import T from "../i18n/tech.js";
import { icon } from "./icons.js";
import { card, dataTable, fmt } from "./staff.js";
import { guarded, healthItem } from "./tech_panel.js";
import { busyAction, button, clear, h, toast } from "./ui.js";

export function relayPanel({ api, polled }) {
  const facts = h("div", { class: "health", "data-testid": "relay-status" });
  const note = h("div");
  const dead = h("div", { "data-testid": "dead-letters" });
  const F = T.relayFacts;
  async function load() {
    const r = await api().get("/api/relay");
    const s = r.status;
    const item = healthItem;
    clear(facts,
      item(F.state, T.relayStates[s.state] || s.state, s.state === "idle" ? "ok" : s.state === "backoff" || s.state === "misconfigured" ? "bad" : ""),
      item(F.backlog, String(s.backlog), s.backlog ? "warn" : ""),
      item(F.oldest, T.ageMinutes(s.oldest_pending_age_seconds)),
      item(F.lastSuccess, s.last_success_at ? fmt.mdhm(String(s.last_success_at)) : "—"),
      item(F.dead, String(s.dead_letters), s.dead_letters ? "bad" : ""),
      item(F.blocked, String(s.blocked_by_dead_letters || 0), s.blocked_by_dead_letters ? "bad" : ""),
      s.next_attempt_in_seconds ? item(F.next, T.seconds(s.next_attempt_in_seconds)) : null,
      s.drain ? item(F.drain, T.drain(s.drain)) : null,
      s.endpoint ? item(F.endpoint, s.endpoint) : null);
    clear(note,
      s.state === "not_configured" ? h("div", { class: "note info" }, icon("info"), T.relayNotConfigured) : null,
      s.config_error ? h("div", { class: "note bad" }, icon("alert"), s.config_error) : null,
      s.last_error ? h("div", { class: "note bad", "data-testid": "relay-last-error" }, icon("alert"),
        `${F.lastError}：${s.last_error}${s.last_error_at ? `（${fmt.mdhm(String(s.last_error_at))}）` : ""}`) : null);
    const D = T.deadCols;
    clear(dead, dataTable([
      { label: D.id, get: (x) => String(x.id) },
      { label: D.kind, get: (x) => x.kind },
      { label: D.created, get: (x) => fmt.mdhm(x.created_at) },
      { label: D.dead, get: (x) => fmt.mdhm(x.dead_at) },
      { label: D.reason, get: (x) => `${x.dead_code || ""} ${x.dead_reason || ""}`.trim() },
      { label: D.attempts, num: true, get: (x) => String(x.attempts) },
      { label: D.retried, num: true, get: (x) => String(x.retried) },
      { label: "", get: (x) => {
        const b = button(T.retry, { icon: "recall", cls: "btn small", attrs: { "data-testid": `retry-${x.id}` } });
        b.addEventListener("click", () => busyAction(b, async () => {
          const res = await api().post(`/api/relay/dead-letters/${x.id}/retry`, {});
          toast(T.retried(res.message), "ok");
          await guarded(load);
        }));
        return b;
      } },
    ], r.dead_letters, { empty: T.deadNone, testid: "dead-table" }));
  }
  return polled("relay", "transfer", 5000, load, (node) => node.append(
    card(T.relayTitle, "transfer", {}, facts, note), card(T.deadTitle, "alert", {}, dead)));
}
