// The technician's 设备配对 panel on /tech: make a one-time code for a window's rating tablet or a
// kiosk terminal (shown big, with its expiry counting down), list the paired devices, revoke one.
// The code is shown only here and only once (the server keeps its hash); the device page's pad
// (pairing_pad.js) takes it. Words: i18n/tech.js (T.pairing); this file holds none.
import { badge, card, dataTable, every, fmt, select } from "./staff.js";
import { busyAction, button, clear, h, modal, toast } from "./ui.js";

/**
 * @param {object} o
 * @param {() => object} o.api    the signed-in technician's API
 * @param {object} o.T            i18n/tech.js
 * @param {(fn: () => Promise<void>) => Promise<void>} o.guarded  shows load errors, stamps the time
 */
export function pairingPanel({ api, T, guarded }) {
  const P = T.pairing;
  document.head.append(h("link", { rel: "stylesheet", href: new URL("../css/pairing.css", import.meta.url).href }));
  const target = select([], { testid: "pairing-target" });
  const shown = h("div", { class: "pairing-made", "data-testid": "pairing-made", "aria-live": "polite" });
  const list = h("div", { "data-testid": "pairings" });
  let targets = "";          // the options last built, so a refresh keeps the technician's choice
  let made = null;           // {code, name, expires: ms}
  let tick = null;

  const create = button(P.create, { icon: "start", cls: "btn primary", attrs: { "data-testid": "pairing-create" },
    onClick: () => busyAction(create, async () => {
      const [kind, id] = target.value.split(":");
      const spec = kind === "evaluator" ? { kind, window: Number(id) } : { kind, kiosk: id };
      const r = await api().post("/api/tech/pairings", spec);
      made = { code: r.code, name: r.name, expires: Date.now() + r.expires_in_s * 1000 };
      showCode();
      await guarded(load);
    }) });

  function showCode() {
    clearInterval(tick);
    if (!made) { clear(shown); return; }
    const left = h("span", { "data-testid": "pairing-expires" });
    const render = () => {
      const s = Math.max(0, Math.round((made.expires - Date.now()) / 1000));
      left.textContent = s > 0 ? P.expiresIn(Math.floor(s / 60), s % 60) : P.expired;
      shown.classList.toggle("spent", s <= 0);
      if (s <= 0) clearInterval(tick);
    };
    clear(shown, h("div", { class: "pairing-for", text: P.codeFor(made.name) }),
      h("div", { class: "pairing-bigcode", "data-testid": "pairing-code-shown", text: made.code }),
      h("div", { class: "muted" }, left, " · ", P.howTo));
    render();
    tick = setInterval(render, 1000);
  }

  function buildTargets(r) {
    const options = [...r.windows.map((n) => [`evaluator:${n}`, P.evaluatorName(n)]),
      ...r.kiosks.map((k) => [`kiosk:${k.id}`, P.kioskName(k.id, k.name)])];
    const key = JSON.stringify(options);
    if (key === targets) return;
    targets = key;
    const keep = target.value;
    clear(target, options.map(([v, label]) => h("option", { value: v, text: label })));
    if (options.some(([v]) => v === keep)) target.value = keep;
  }

  async function load() {
    const r = await api().get("/api/tech/pairings");
    buildTargets(r);
    const C = P.cols;
    const stateKind = { paired: "ok", waiting: "warn", expired: "", revoked: "bad" };
    clear(list, dataTable([
      { label: C.name, get: (x) => x.name },
      { label: C.kind, get: (x) => P.kinds[x.kind] || x.kind },
      { label: C.state, get: (x) => h("span", { "data-testid": `pairing-state-${x.id}` },
        badge(P.states[x.state] || x.state, stateKind[x.state] || ""),
        x.code ? h("strong", { class: "pairing-democode", text: ` ${x.code}` }) : null) },
      { label: C.created, get: (x) => `${fmt.mdhm(x.created_at)} · ${x.created_by}` },
      { label: C.paired, get: (x) => fmt.mdhm(x.paired_at) },
      { label: C.seen, get: (x) => (x.last_seen ? fmt.epoch(x.last_seen) : "—") },
      { label: "", get: (x) => {
        if (x.state === "revoked" || x.state === "expired") return x.revoked_at ? P.revokedAt(fmt.mdhm(x.revoked_at)) : "";
        const b = button(P.revoke, { icon: "alert", cls: "btn small danger", attrs: { "data-testid": `revoke-${x.id}` } });
        b.addEventListener("click", () => modal({ title: P.revoke, body: [h("p", { text: P.confirmRevoke(x.name) })],
          testid: "revoke-confirm", actions: [
            { label: T.pairing.cancel, cls: "btn" },
            { label: P.revoke, cls: "btn danger", testid: "revoke-yes", onClick: () => busyAction(b, async () => {
              await api().post(`/api/tech/pairings/${x.id}/revoke`, {});
              toast(P.revoked(x.name), "ok");
              await guarded(load);
            }) },
          ] }));
        return b;
      } },
    ], r.pairings, { empty: P.none, testid: "pairing-table" }));
  }

  const timer = every(5000, () => guarded(load));
  return {
    id: "pairing", icon: "keyboard",
    mount(node) {
      node.append(
        card(P.makeTitle, "keyboard", {}, h("p", { class: "muted", text: P.makeHint }),
          h("div", { class: "row" }, h("label", { class: "field" }, h("span", { class: "field-label", text: P.target }),
            target), create), shown),
        card(P.listTitle, "check", {}, list));
    },
    show() { timer.start(); },
    hide() { timer.stop(); clearInterval(tick); },
    refresh() { timer.now(); },
  };
}
