// The technician's 模拟设备 tab: each emulator as the hall would see it (tickets as printed, the LED
// board lit, the evaluator's keys to press, the ID card on the reader, the county's faults) with
// buttons that set the emulator's faults. Words: i18n/tech.js.
import T from "../i18n/tech.js";
import { face } from "./icons.js";
import { badge, card, fmt, select } from "./staff.js";
import { ledMatrix } from "./tech_led_matrix.js";
import { busyAction, button, clear, h, toast } from "./ui.js";

/** The tab's context, set when the page mounts it (the page has one emulators tab). */
let api = () => { throw new Error("emulators tab not mounted"); };
let refresh = () => {};

export function emulatorsPanel(ctx) {
  ({ api, refresh } = ctx);
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
  return ctx.polled("emulators", "board", 2000, load, (node) => node.append(
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
    refresh();
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
