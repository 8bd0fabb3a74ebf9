// The technician's 设备 tab: the service's health strip with the problems to fix (backup folder,
// PC clock), then one card per device with its state, last error, facts by kind and a test button
// whose PASS/FAIL stays on the card across refreshes. Words: i18n/tech.js.
import T from "../i18n/tech.js";
import { icon } from "./icons.js";
import { badge, card, fmt } from "./staff.js";
import { healthItem } from "./tech_panel.js";
import { button, clear, h } from "./ui.js";

function stateBadge(d) {
  const s = d.state;
  const kind = s === "ready" ? "ok" : s === "idle" ? "" : s === "connecting" ? "warn" : "bad";
  return badge(d.state_name || T.stateFallback[s] || s, kind, kind === "ok" ? "check" : kind ? "alert" : null);
}

export function devicesPanel({ api, polled }) {
  const health = h("div", { class: "health", "data-testid": "health" });
  const warnings = h("div", { "data-testid": "health-warnings" });
  const grid = h("div", { class: "dev-grid", "data-testid": "devices" });
  const results = new Map();         // device name → last test result, kept across refreshes
  const running = new Set();
  let devices = [];

  async function load() {
    const [d, hz] = await Promise.all([api().get("/api/devices"), fetch("/healthz").then((r) => r.json())]);
    devices = d.devices;
    renderHealth(hz, d.pace);
    render();
  }

  function renderHealth(z, pace) {
    const H = T.health;
    const item = healthItem;
    clear(health,
      item(H.status, H.statusNames[z.status] || z.status, z.status === "ok" ? "ok" : "bad"),
      item(H.database, H.dbNames[z.database] || z.database, z.database === "ok" ? "ok" : "bad"),
      item(H.version, z.version), item(H.uptime, T.uptime(z.uptime_seconds)),
      item(H.streams, String(z.live_streams)),
      item(H.emulators, z.emulators_active ? H.emulatorsOn : H.emulatorsOff, z.emulators_active ? "warn" : ""),
      // Devices poll less often while nobody is served (drivers/pace.py): a card then takes up to 2 s.
      pace && devices.length ? item(H.pace, pace.resting ? H.paceRest : H.paceBusy) : null,
      item(H.relay, `${z.relay.backlog} · ${T.relayStates[z.relay.state] || z.relay.state}`,
        z.relay.dead_letters ? "bad" : ""),
      z.backup ? item(H.backup, z.backup.last_backup_at ? T.backupLast(z.backup.last_backup_at)
        : (H.backupStates[z.backup.state] || z.backup.state), z.backup.state === "warning" ? "warn" : z.backup.state === "ok" ? "ok" : "") : null,
      z.clock ? item(H.clock, z.clock.offset_seconds == null ? H.clockUnknown : T.clockOffset(z.clock.offset_seconds),
        z.clock.warning ? "bad" : z.clock.offset_seconds == null ? "" : "ok") : null);
    // Problems a technician must fix while the hall keeps serving: backup folder, PC clock.
    clear(warnings, ...(z.warnings || []).map((w) => h("div", { class: "note bad", "data-item": w.item },
      icon("alert"), `${H.warningItems[w.item] || w.item}：${w.message}`)));
  }

  function facts(d) {
    const F = T.facts;
    const rows = [];
    const add = (k, v) => { if (v !== undefined && v !== null && v !== "") rows.push([k, v]); };
    if (d.kind === "printer") {
      add(F.paper, d.paper_name || d.paper); add(F.printed, d.printed); add(F.ticketBytes, d.last_ticket_bytes);
      add(F.qr, d.qr);
    } else if (d.kind === "led") {
      add(F.role, d.role_name); add(F.size, d.size ? d.size.join("×") : null); add(F.frames, d.frames_sent);
      add(F.nacks, d.nacks); add(F.shown, (d.rows || []).filter((x) => x.trim()).join(" / "));
    } else if (d.kind === "evaluator") {
      add(F.firmware, d.firmware); add(F.keypad, T.keypadModes[d.keypad_mode] || d.keypad_mode);
      add(F.presses, d.counters ? d.counters.presses : null);
      add(F.lastTestKey, d.last_test_key ? (d.last_test_key.level || JSON.stringify(d.last_test_key)) : null);
    } else if (d.kind === "voice") {
      add(F.engine, d.engine); add(F.announced, d.counters ? d.counters.announced : null);
      add(F.failed, d.counters ? d.counters.failed : null);
    } else if (d.kind === "camera") {
      add(F.frameSize, d.frame_size ? d.frame_size.join("×") : null); add(F.frames, d.frames);
    } else if (d.kind === "idcard") {
      add(F.sam, d.sam); add(F.cardReads, d.reads);
      add(F.lastCard, d.last_card ? T.cardLine(d.last_card, fmt.epoch(d.last_read_at)) : null);
    }
    add(F.pending, d.pending || null);
    add(F.url, d.url);
    return h("dl", { class: "facts" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v) })]));
  }

  function render() {
    clear(grid, devices.map((d) => {
      const res = results.get(d.name);
      const testBtn = button(running.has(d.name) ? T.testing : T.test, { icon: "start", cls: "btn primary small",
        disabled: running.has(d.name), attrs: { "data-testid": `test-${d.name}`, title: T.testHint[d.kind] || "" },
        onClick: () => runTest(d.name) });
      return h("div", { class: `dev-card st-${d.state}`, "data-testid": `device-${d.name}`, "data-state": d.state },
        h("div", { class: "dev-head" }, h("span", { class: "dev-icon" }, icon(kindIcon(d.kind))),
          h("div", { class: "dev-title" }, h("strong", { text: d.name }),
            h("span", { class: "muted", text: `${T.kinds[d.kind] || d.kind} · ${T.window(d.window)}` })),
          d.emulated ? badge(T.emulated, "warn") : null, stateBadge(d)),
        d.detail ? h("div", { class: "dev-detail", text: d.detail }) : null,
        h("div", { class: "dev-line" }, h("span", { class: "muted", text: "rtt " }), h("strong", { text: T.rtt(d.rtt_ms) }),
          h("span", { class: "muted", text: ` · ${T.lastOk} ` }), h("span", { text: fmt.epoch(d.last_ok_at) })),
        h("div", { class: `dev-line ${d.last_error ? "bad-text" : ""}` }, h("span", { class: "muted", text: `${T.lastError}：` }),
          h("span", { text: d.last_error ? `${d.last_error}（${fmt.epoch(d.last_error_at)}）` : T.noError })),
        facts(d),
        h("div", { class: "dev-test" }, testBtn,
          res ? h("div", { class: `test-result ${res.ok ? "pass" : "fail"}`, "data-testid": `result-${d.name}`,
            "data-result": res.ok ? "PASS" : "FAIL" },
          h("strong", { class: "verdict" }, icon(res.ok ? "check" : "alert"), res.ok ? T.pass : T.fail),
          h("span", { text: res.message || "" })) : h("span", { class: "muted small", text: T.testHint[d.kind] || "" })));
    }));
  }

  async function runTest(name) {
    running.add(name);
    render();
    try {
      const r = await api().post(`/api/devices/${encodeURIComponent(name)}/test`, {}, { timeout: 20000 });
      results.set(name, r);
      devices = devices.map((d) => (d.name === name && r.status ? { ...d, ...r.status } : d));
    } catch (err) {
      results.set(name, { ok: false, message: err.message });
    } finally {
      running.delete(name);
      render();
    }
  }

  return polled("devices", "printer", 4000, load, (node) => node.append(
    card(T.healthTitle, "check", {}, health, warnings), grid));
}

function kindIcon(kind) {
  return { printer: "printer", led: "board", evaluator: "star", camera: "scan", voice: "voice", idcard: "people" }[kind] || "info";
}
