// The technician's page (/tech): device states with test actions (PASS/FAIL),
// the emulators' views (tickets as printed, LED areas lit as a dot matrix,
// virtual evaluator keys, fault toggles), the county relay's backlog and dead
// letters, the config check and the service log's tail. Everything here calls
// technician-only APIs; sign-in and role: staff.js; words: i18n/tech.js.
import T from "../i18n/tech.js";
import { face, icon } from "./icons.js";
import { LiveStream } from "./live.js";
import { StaffPage, badge, card, coalesce, dataTable, every, fmt, select, tabs } from "./staff.js";
import { pairingPanel } from "./tech_pairing.js";
import { busyAction, button, clear, h, hallTime, toast } from "./ui.js";

const state = { tabs: null, panels: [], live: null };
const staffPage = new StaffPage({ role: "technician", T, onStart: start, onStop: stop });
const api = () => staffPage.api;
const status = h("div", { class: "status-line", role: "status", "data-testid": "status" });

function stamp() {
  const t = hallTime();
  const p = (n) => String(n).padStart(2, "0");
  clear(status, h("span", { text: T.updated(`${p(t.hour)}:${p(t.minute)}:${p(new Date().getSeconds())}`) }));
}

async function guarded(fn) {
  try {
    await fn();
    stamp();
  } catch (err) {
    if (err && err.status === 401) return;
    toast(T.loadFailed(err.message), "bad", 6000);
  }
}

function start() {
  state.panels = [devicesPanel(), pairingPanel({ api, T, guarded }), emulatorsPanel(), relayPanel(), configPanel(),
    logsPanel()];
  for (const p of state.panels) p.label = T.tabs[p.id];
  state.tabs = tabs(staffPage.stage, state.panels);
  clear(staffPage.footbar, status);
  // a printed ticket, a call on the LED, a relay change: refresh what is on screen at once
  const poke = coalesce(() => { for (const p of state.panels) if (p.visible) p.refresh?.(); }, 300);
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

/** A panel that polls while it is on screen. */
function polled(id, iconName, ms, load, mount) {
  const timer = every(ms, () => guarded(load));
  return {
    id, icon: iconName,
    mount,
    show() { timer.start(); },
    hide() { timer.stop(); },
    refresh() { timer.now(); },
  };
}

function stateBadge(d) {
  const s = d.state;
  const kind = s === "ready" ? "ok" : s === "idle" ? "" : s === "connecting" ? "warn" : "bad";
  return badge(d.state_name || T.stateFallback[s] || s, kind, kind === "ok" ? "check" : kind ? "alert" : null);
}

// ---------------------------------------------------------------------- devices + health
function devicesPanel() {
  const health = h("div", { class: "health", "data-testid": "health" });
  const warnings = h("div", { "data-testid": "health-warnings" });
  const grid = h("div", { class: "dev-grid", "data-testid": "devices" });
  const results = new Map();         // device name → last test result, kept across refreshes
  const running = new Set();
  let devices = [];

  async function load() {
    const [d, hz] = await Promise.all([api().get("/api/devices"), fetch("/healthz").then((r) => r.json())]);
    devices = d.devices;
    renderHealth(hz);
    render();
  }

  function renderHealth(z) {
    const H = T.health;
    const item = (label, value, kind = "") => h("div", { class: `hz ${kind}` }, h("span", { class: "hz-label", text: label }),
      h("strong", { text: value }));
    clear(health,
      item(H.status, H.statusNames[z.status] || z.status, z.status === "ok" ? "ok" : "bad"),
      item(H.database, H.dbNames[z.database] || z.database, z.database === "ok" ? "ok" : "bad"),
      item(H.version, z.version), item(H.uptime, T.uptime(z.uptime_seconds)),
      item(H.streams, String(z.live_streams)),
      item(H.emulators, z.emulators_active ? H.emulatorsOn : H.emulatorsOff, z.emulators_active ? "warn" : ""),
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

// ---------------------------------------------------------------------- emulators
const LED_COLORS = {
  red: ["#ff3b1f", "#2b0905"], yellow: ["#ffb000", "#2b1e03"], green: ["#39ff5a", "#06240b"],
  amber: ["#ffb000", "#2b1e03"], white: ["#ffffff", "#1f1f1f"],
};

/**
 * The LED board as it lights: each area's text drawn at the panel's own resolution (16 px rows,
 * like the font card's 16×16 font), thresholded to on/off pixels, then each pixel drawn as a dot.
 */
export function ledMatrix(view, { dot = 5 } = {}) {
  const W = view.width;
  const H = view.height;
  const off = document.createElement("canvas");
  off.width = W;
  off.height = H;
  const g = off.getContext("2d", { willReadFrequently: true });
  g.fillStyle = "#000";
  g.fillRect(0, 0, W, H);
  const colorAt = new Map();
  if (view.power_on !== false) {
    for (const a of view.areas || []) {
      g.save();
      g.beginPath();
      g.rect(a.x, a.y, a.width, a.height);
      g.clip();
      const px = Math.max(8, Math.min(a.height, 16 * Math.max(1, Math.floor(a.height / 16))));
      g.font = `${px}px "Noto Sans CJK SC", "Microsoft YaHei", "WenQuanYi Zen Hei", sans-serif`;
      g.textBaseline = "middle";
      g.fillStyle = "#fff";
      // the font card's cells: a full cell per hanzi, half a cell per ASCII character
      let x = a.x;
      for (const ch of a.text || "") {
        const w = ch.codePointAt(0) < 0x80 ? px / 2 : px;
        g.fillText(ch, x, a.y + a.height / 2 + 1, w);
        x += w;
        if (x >= a.x + a.width) break;
      }
      g.restore();
      colorAt.set(a.id, a.color || "red");
    }
  }
  const px = g.getImageData(0, 0, W, H).data;
  const big = document.createElement("canvas");
  big.width = W * dot;
  big.height = H * dot;
  big.className = "led-canvas";
  const b = big.getContext("2d");
  b.fillStyle = "#050505";
  b.fillRect(0, 0, big.width, big.height);
  const areaOf = (y) => (view.areas || []).find((a) => y >= a.y && y < a.y + a.height);
  const paths = new Map();
  const r = dot * 0.38;
  for (let y = 0; y < H; y += 1) {
    const area = areaOf(y);
    const [on, dim] = LED_COLORS[(area && colorAt.get(area.id)) || "red"] || LED_COLORS.red;
    for (let x = 0; x < W; x += 1) {
      const lit = px[(y * W + x) * 4] > 100;
      const key = lit ? on : dim;
      if (!paths.has(key)) paths.set(key, new Path2D());
      const p = paths.get(key);
      const cx = x * dot + dot / 2;
      const cy = y * dot + dot / 2;
      p.moveTo(cx + r, cy);
      p.arc(cx, cy, r, 0, Math.PI * 2);
    }
  }
  for (const [color, p] of paths) {
    b.fillStyle = color;
    b.fill(p);
  }
  return big;
}

function emulatorsPanel() {
  const box = h("div", { class: "emu-grid", "data-testid": "emulators" });
  const cards = new Map();       // emulator name → {node, key}: redraw only what changed
  let devices = new Map();
  async function load() {
    const [r, d] = await Promise.all([api().get("/api/devices/emulators"), api().get("/api/devices")]);
    devices = new Map(d.devices.map((x) => [x.name, x]));
    if (!r.emulators.length) { clear(box, h("div", { class: "empty", text: T.emulatorsNone })); cards.clear(); return; }
    const order = ["led", "printer", "evaluator", "idcard", "voice", "camera", ""];
    const list = [...r.emulators].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    const seen = new Set();
    for (const e of list) {
      seen.add(e.name);
      const key = JSON.stringify([stable(e), (devices.get(e.name) || {}).window]);
      const old = cards.get(e.name);
      if (old && old.key === key) continue;
      const node = emulatorCard(e, devices.get(e.name) || {});
      if (old) old.node.replaceWith(node); else box.append(node);
      cards.set(e.name, { node, key });
    }
    for (const [name, c] of cards) if (!seen.has(name)) { c.node.remove(); cards.delete(name); }
    box.querySelector(".empty")?.remove();
  }
  return polled("emulators", "board", 2000, load, (node) => node.append(
    h("p", { class: "muted", text: T.emuHint }), box));
}

/** The part of a view that changes what is drawn (counters like "received" ages are left out). */
function stable(e) {
  const v = e.view || {};
  if (e.kind === "evaluator") {
    return { ...v, received: undefined, host_alive: undefined, remaining_s: v.remaining_s === null ? null : Math.round(v.remaining_s) };
  }
  if (e.kind === "led") return { ...v, recent_frames: undefined, connections: undefined };
  if (e.kind === "printer") return { jobs: (v.jobs || []).slice(0, 3).map((j) => j.started_at), status: v.status };
  if (e.kind === "idcard") return { ...v, received: undefined, connections: undefined, dropped: undefined };
  return v;
}

async function fault(name, command, btn) {
  await busyAction(btn, async () => {
    const r = await api().post(`/api/devices/emulators/${encodeURIComponent(name)}/fault`, { command });
    toast(T.faultDone(r.message), "ok", 2500);
    for (const p of state.panels) if (p.visible) p.refresh?.();
  });
}

function faultButtons(name, defs) {
  return h("div", { class: "fault-bar" }, h("span", { class: "field-label", text: T.faultsTitle }),
    defs.map(([label, command, on]) => {
      const b = button(label, { cls: `btn small toggle-fault ${on ? "on" : ""}`,
        attrs: { "data-testid": `fault-${name}-${command.replace(/\s+/g, "-")}`, "aria-pressed": String(Boolean(on)) } });
      b.addEventListener("click", () => fault(name, command, b));
      return b;
    }));
}

function emulatorCard(e, dev) {
  const v = e.view || {};
  const F = T.faults;
  if (e.kind === "printer") {
    const st = v.status || {};
    const jobs = (v.jobs || []).slice(0, 3);          // newest first
    return card(T.printerTitle(e.name), "printer", { cls: "emu emu-printer span2", testid: `emu-${e.name}`,
      tools: [badge(T.printerState(st), st.paper === "ok" && !st.cover_open && !st.unplugged ? "ok" : "bad")] },
    h("div", { class: "tickets", "data-testid": "printed-tickets" }, jobs.length ? jobs.map((j) =>
      h("figure", { class: "paper" }, h("pre", { text: j.text }),
        h("figcaption", { class: "muted small", text: `${fmt.epoch(j.finished_at || j.started_at)} · ${T.ticketMeta(j.bytes, j.cut)}` })))
      : h("div", { class: "empty", text: T.noTickets })),
    faultButtons(e.name, [[F.paperOut, "paper out", st.paper === "out"], [F.paperNear, "paper near", st.paper === "near_end"],
      [F.paperOk, "paper ok", false], [F.coverOpen, "cover open", st.cover_open], [F.coverClose, "cover close", false],
      [F.unplug, "unplug", st.unplugged], [F.replug, "replug", false], [F.silent, "silent", st.silent],
      [F.silentOff, "silent off", false]]));
  }
  if (e.kind === "led") {
    const f = v.faults || {};
    const wide = v.width >= 192 ? "span2" : "";
    return card(T.ledTitle(e.name, dev.role_name || T.kinds.led), "board", { cls: `emu emu-led ${wide}`, testid: `emu-${e.name}`,
      tools: [h("span", { class: "muted small", text: T.ledMeta(v.width, v.height, v.frames) })] },
    h("div", { class: "led-bezel", "data-testid": `led-${e.name}`, "data-lines": (v.lines || []).join("\n"),
      title: (v.lines || []).join(" / ") },
    v.power_on === false ? h("div", { class: "led-off", text: T.ledOff }) : ledMatrix(v)),
    (v.areas || []).some((a) => a.scroll) ? h("div", { class: "muted small", text: T.ledScroll }) : null,
    faultButtons(e.name, [[F.unplug, "unplug", f.unplugged], [F.replug, "replug", false], [F.nack, "nack", f.nack !== null && f.nack !== undefined],
      [F.nackOff, "nack off", false], [F.silent, "silent", f.silent], [F.silentOff, "silent off", false]]));
  }
  if (e.kind === "evaluator") {
    const prompt = v.mode === "prompt";
    const last = v.last_key ? T.evalLast(v.last_key.result) : "";
    const keys = h("div", { class: "eval-keys" }, (v.keys || []).map((k, i) => {
      const b = h("button", { type: "button", class: `eval-key lv${i + 1}`, "data-testid": `key-${e.name}-${k.wire || k.code}`,
        "aria-label": k.level }, face(["very_good", "good", "fair", "bad", "very_bad"][i]), h("span", { text: k.level }));
      b.addEventListener("click", () => fault(e.name, `press ${k.wire || i + 1}`, b));
      return b;
    }));
    return card(T.evalTitle(e.name, T.window(dev.window)), "star", { cls: "emu emu-eval", testid: `emu-${e.name}` },
      h("div", { class: `eval-screen ${prompt ? "prompt" : ""}`, "data-testid": `eval-screen-${e.name}` },
        h("strong", { text: v.plugged === false ? T.evalUnplugged : prompt ? T.evalPrompt(v.clerk_name, v.remaining_s) : v.mode_name }),
        v.text ? h("span", { text: v.text }) : null,
        h("span", { class: "small", "data-testid": `eval-last-${e.name}`, text: last || T.evalSent(v.keys_sent || 0) })),
      h("div", { class: "field-label", text: T.evalKeys }), keys,
      faultButtons(e.name, [[F.unplug, "unplug", v.plugged === false], [F.replug, "replug", false], [F.noise, "noise", false],
        [F.silent, "silent on", v.silent], [F.silentOff, "silent off", false]]));
  }
  if (e.kind === "voice") {
    const hist = (v.history || []).slice(-6).reverse();
    return card(T.voiceTitle(e.name), "voice", { cls: "emu emu-voice", testid: `emu-${e.name}` },
      hist.length ? h("ol", { class: "voice-list" }, hist.map((x) => h("li", { class: x.ok === false ? "bad-text" : "" },
        h("span", { text: T.voiceItem(x) }), x.spoken && x.spoken !== x.text ? h("span", { class: "muted small", text: ` · ${x.spoken}` }) : null)))
        : h("div", { class: "empty", text: T.voiceNone }),
      faultButtons(e.name, [[F.failNext, "fail 1", false]]));
  }
  if (e.kind === "idcard") return idcardCard(e, v);
  if (e.kind === "county") {
    const on = new Set(v.faults || []);
    return card(T.countyTitle, "transfer", { cls: "emu emu-county", testid: `emu-${e.name}`,
      tools: [badge(on.size ? T.countyFaults([...on]) : T.countyOk, on.size ? "bad" : "ok")] },
      h("div", { class: "small", text: T.countyFacts(v) }),
      faultButtons(e.name, [[F.countyReject, "reject", on.has("reject")], [F.countyError, "http_error", on.has("http_error")],
        [F.countyPartition, "partition", on.has("partition")], [F.countyClear, "clear", false]]));
  }
  // camera (and any other emulator): its status, faults by name
  return card(T.cameraTitle(e.name), "scan", { cls: "emu emu-camera", testid: `emu-${e.name}` },
    h("div", { class: "small", text: T.cameraFacts(v) }),
    h("div", { class: v.fault ? "bad-text small" : "small", text: T.cameraFault(v.fault) }),
    v.payloads ? h("div", { class: "field-label", text: T.cameraPayloads }) : null,
    v.payloads ? h("ul", { class: "payloads small" }, v.payloads.map((p) => h("li", { text: p }))) : null,
    e.faults ? faultButtons(e.name, [[F.camBlur, "blur", v.fault === "blur"], [F.camBlack, "black", v.fault === "black"],
      [F.unplug, "unplug", v.fault === "unplug"], [F.camOk, "none", false]]) : null);
}

/** What the technician typed into an ID-card emulator's form, kept across redraws of its card. */
const cardForms = new Map();

/** The ID-card reader emulator: the card on it (masked), a "放卡" form and the faults. */
function idcardCard(e, v) {
  const C = T.idcard;
  const F = T.faults;
  const form = cardForms.get(e.name) || { ...C.defaults };
  cardForms.set(e.name, form);
  const field = (key, label, attrs = {}) => {
    const input = h("input", { type: "text", value: form[key], "data-testid": `card-${key}-${e.name}`, ...attrs });
    input.addEventListener("input", () => { form[key] = input.value.trim(); });
    return h("label", { class: "field" }, h("span", { class: "field-label", text: label }), input);
  };
  // The emulator's place command takes the sex as the card prints it (男/女), so the words double as values.
  const sex = select([[C.male, C.male], [C.female, C.female]], { value: form.sex, testid: `card-sex-${e.name}` });
  sex.addEventListener("change", () => { form.sex = sex.value; });
  const place = button(C.place, { icon: "start", cls: "btn primary small", attrs: { "data-testid": `place-${e.name}` } });
  place.addEventListener("click", () => fault(e.name, `place ${form.name} ${form.sex} ${form.birth} ${form.id}`, place));
  const remove = button(C.remove, { cls: "btn small", attrs: { "data-testid": `remove-${e.name}` } });
  remove.addEventListener("click", () => fault(e.name, "remove", remove));
  const c = v.card;
  return card(C.title(e.name), "people", { cls: "emu emu-idcard", testid: `emu-${e.name}`,
    tools: [badge(v.nosam ? C.samFault : v.silent ? F.silent : C.ok, v.nosam || v.silent ? "bad" : "ok")] },
  h("div", { class: "small", "data-testid": `card-on-${e.name}`,
    text: c ? C.onReader(c, v.card_read) : C.empty }),
  h("div", { class: "muted small", text: C.facts(v) }),
  h("div", { class: "card-form" }, field("name", C.name, { maxlength: "15" }),
    h("label", { class: "field" }, h("span", { class: "field-label", text: C.sex }), sex),
    field("birth", C.birth, { maxlength: "8", inputmode: "numeric" }), field("id", C.id, { maxlength: "18" })),
  h("div", { class: "fault-bar" }, place, remove),
  faultButtons(e.name, [[C.nosam, "nosam on", v.nosam], [C.nosamOff, "nosam off", false], [C.pull, "pull", v.pull],
    [C.badsum, "badsum", v.badsum > 0], [F.noise, "noise", false], [F.silent, "silent on", v.silent],
    [F.silentOff, "silent off", false]]));
}

// ---------------------------------------------------------------------- relay
function relayPanel() {
  const facts = h("div", { class: "health", "data-testid": "relay-status" });
  const note = h("div");
  const dead = h("div", { "data-testid": "dead-letters" });
  const F = T.relayFacts;
  async function load() {
    const r = await api().get("/api/relay");
    const s = r.status;
    const item = (label, value, kind = "") => h("div", { class: `hz ${kind}` }, h("span", { class: "hz-label", text: label }),
      h("strong", { text: value ?? "—" }));
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

// ---------------------------------------------------------------------- config check
function configPanel() {
  const head = h("div", { "data-testid": "config-status" });
  const checks = h("ul", { class: "checks", "data-testid": "config-checks" });
  const devs = h("div");
  const staff = h("div");
  const other = h("pre", { class: "cfg-json", tabindex: "0" });   // it scrolls: reachable by keyboard
  const catalog = h("div", { class: "health", "data-testid": "catalog-status" });
  const years = h("div", { class: "health", "data-testid": "holiday-years" });
  async function loadExtras() {
    const [c, y] = await Promise.all([api().get("/api/catalog/status").catch(() => null),
      api().get("/api/records/holidays").catch(() => null)]);
    const item = (label, value, kind = "") => h("div", { class: `hz ${kind}` }, h("span", { class: "hz-label", text: label }),
      h("strong", { text: value ?? "—" }));
    const K = T.catalog;
    clear(catalog, c ? [item(K.version, c.version), item(K.items, String(c.item_count)),
      item(K.source, K.sources[c.source] || c.source), item(K.published, fmt.day(c.published_at)),
      (c.load_errors || []).length ? item(K.errors, c.load_errors.join("；"), "bad") : null] : []);
    if (y) {
      const now = hallTime().year;
      clear(years, [now - 1, now, now + 1].map((yr) => {
        const known = Boolean((y.hall || {})[yr]) || (y.package || []).includes(yr);
        return item(String(yr), known ? K.yearKnown((y.hall || {})[yr]) : K.yearGuessed, known ? "ok" : "warn");
      }));
    }
  }
  async function load() {
    loadExtras();
    const r = await api().get("/api/tech/config");
    const kind = r.status === "ok" ? "ok" : r.status === "warn" ? "warn" : "bad";
    clear(head, h("div", { class: `note ${kind === "warn" ? "" : kind}` }, icon(kind === "ok" ? "check" : "alert"),
      h("div", {}, h("strong", { text: T.configStatus[r.status] }),
        h("div", { class: "small", text: `${T.configFile(r.file)} · ${T.configCounts(r.counts)}` }))));
    clear(checks, r.checks.map((c) => h("li", { class: `check ${c.level}` },
      badge(T.levels[c.level], c.level === "ok" ? "ok" : c.level === "warn" ? "warn" : "bad",
        c.level === "ok" ? "check" : "alert"), h("strong", { text: c.item }), h("span", { text: c.message }))));
    const cfg = r.config;
    const C = T.cfgCols;
    clear(devs, dataTable([
      { label: C.name, get: (d) => d.name }, { label: C.kind, get: (d) => T.kinds[d.kind] || d.kind },
      { label: C.url, get: (d) => h("code", { text: d.url }) }, { label: C.window, get: (d) => (d.window ? T.window(d.window) : "—") },
      { label: C.options, get: (d) => Object.entries(d.options || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—" },
    ], cfg.devices || []));
    const S = T.staffCols;
    clear(staff, dataTable([
      { label: S.id, get: (s) => s.id }, { label: S.name, get: (s) => s.name }, { label: S.role, get: (s) => T.roles[s.role] || s.role },
      { label: S.post, get: (s) => (s.role === "clerk" ? T.post(s.post) : "—") },
      { label: S.windows, get: (s) => (s.role !== "clerk" ? "—" : s.windows.length ? s.windows.join("、") : T.anyWindow) },
    ], cfg.staff || []));
    const rest = { ...cfg };
    delete rest.devices;
    delete rest.staff;
    other.textContent = JSON.stringify(rest, null, 2);
  }
  const panel = polled("config", "rules", 30000, load, (node) => node.append(
    card(T.configTitle, "rules", {}, head, checks),
    h("div", { class: "two-col" }, card(T.catalog.title, "guide", {}, catalog),
      card(T.catalog.holidays, "appointment", {}, years)),
    h("div", { class: "two-col" }, card(T.devicesConfigured, "printer", {}, devs), card(T.staffConfigured, "people", {}, staff)),
    card(T.configSummary, "list", {}, other)));
  return panel;
}

// ---------------------------------------------------------------------- logs
function logsPanel() {
  const pre = h("div", { class: "log-view", "data-testid": "log-tail", role: "log", tabindex: "0" });
  const file = h("span", { class: "muted small" });
  const lines = select([["100", "100"], ["200", "200"], ["500", "500"], ["1000", "1000"]], { value: "200" });
  const only = h("input", { type: "checkbox" });
  let last = [];
  const draw = () => {
    const shown = only.checked ? last.filter((l) => /\b(WARNING|ERROR|CRITICAL)\b/.test(l)) : last;
    clear(pre, shown.length ? shown.map((l) => h("div", { class: /\b(ERROR|CRITICAL)\b/.test(l) ? "l-err"
      : /\bWARNING\b/.test(l) ? "l-warn" : "", text: l })) : h("div", { class: "muted", text: T.logEmpty }));
    pre.scrollTop = pre.scrollHeight;
  };
  async function load() {
    const r = await api().get(`/api/tech/logs?lines=${lines.value}`);
    last = r.lines;
    file.textContent = r.file ? T.logFile(r.file) : r.message;
    draw();
  }
  lines.addEventListener("change", () => guarded(load));
  only.addEventListener("change", draw);
  const panel = polled("logs", "list", 5000, load, (node) => node.append(card(T.logsTitle, "list", { tools: [
    h("label", { class: "check-label" }, only, T.logOnlyProblems),
    h("label", { class: "check-label" }, T.logLines, lines),
    button(T.logRefresh, { icon: "recall", cls: "btn small", onClick: () => guarded(load) })] }, file, pre)));
  return panel;
}

staffPage.boot();
