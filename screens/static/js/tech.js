// The technician's page (/tech): device states with test actions (PASS/FAIL),
// the emulators' views (tickets as printed, LED areas lit as a dot matrix,
// virtual evaluator keys, fault toggles), the county relay's backlog and dead
// letters, the config check and the service log's tail. Everything here calls
// technician-only APIs; sign-in and role: staff.js; words: i18n/tech.js.
// This file is the shell (tabs, live refresh); each tab is its own file:
// tech_devices.js, tech_pairing.js, tech_emulators.js (tech_led_matrix.js),
// tech_relay.js, tech_config.js, tech_logs.js; what they share: tech_panel.js.
import T from "../i18n/tech.js";
import { LiveStream } from "./live.js";
import { StaffPage, coalesce, tabs } from "./staff.js";
import { configPanel } from "./tech_config.js";
import { devicesPanel } from "./tech_devices.js";
import { emulatorsPanel } from "./tech_emulators.js";
import { logsPanel } from "./tech_logs.js";
import { pairingPanel } from "./tech_pairing.js";
import { guarded, polled, status } from "./tech_panel.js";
import { relayPanel } from "./tech_relay.js";
import { clear } from "./ui.js";

const state = { tabs: null, panels: [], live: null };
const staffPage = new StaffPage({ role: "technician", T, onStart: start, onStop: stop });
const api = () => staffPage.api;
/** What every tab gets: the signed-in API, and a way to refresh the tabs on screen after a fault is set. */
const ctx = { api, polled, refresh: () => { for (const p of state.panels) if (p.visible) p.refresh?.(); } };

function start() {
  state.panels = [devicesPanel(ctx), pairingPanel({ api, T, guarded }), emulatorsPanel(ctx), relayPanel(ctx),
    configPanel(ctx), logsPanel(ctx)];
  for (const p of state.panels) p.label = T.tabs[p.id];
  state.tabs = tabs(staffPage.stage, state.panels);
  clear(staffPage.footbar, status);
  // a printed ticket, a call on the LED, a relay change: refresh what is on screen at once
  const poke = coalesce(ctx.refresh, 300);
  state.live = new LiveStream({
    kinds: ["ticket.print", "ticket.called", "ticket.issued", "printer.status", "window.updated", "rating.prompt",
      "rating.closed", "relay.state", "relay.dead_letter", "idcard.read"],
    onSnapshot: () => {},
    onEvent: () => poke(),
    onStatus: (s) => staffPage.offline.show(s === "down"),
  }).start();
}

function stop() {
  for (const p of state.panels) p.hide?.();
  if (state.live) state.live.stop();
  state.live = null;
}

staffPage.boot();
