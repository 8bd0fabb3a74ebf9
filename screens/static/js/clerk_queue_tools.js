// The clerk console's queue tools beyond call-next: 选号叫号 from the window's waiting list (with a
// reason; the console names any checked-in appointment the call passes over), 挂起 the current
// ticket and 恢复 it later (parked tickets listed here, kept by the service across restarts), 作废 a
// waiting ticket whose citizen left, and the coded pause picker (reasons from the hall's config).
// clerk.js builds it once and hooks it into its page: `box` goes in the side column, `draw(w)` runs on
// each redraw, `choosePause()` answers the pause button. All actions go through clerk.js's `run`,
// which shows errors and refreshes the window afterwards.
import T from "../i18n/clerk_queue_tools.js";
import C from "../i18n/common.js";
import { api } from "./api.js";
import { icon } from "./icons.js";
import { clear, h, modal } from "./ui.js";

const SETTLE_MS = 250;   // several events in a row (call + waiting counts): one reload

export function queueTools({ page, run, say, getWindow, isBusy }) {
  const parkBtn = h("button", { type: "button", class: "btn action act-park", "data-testid": "act-park",
    onclick: () => park() }, icon("pause"), h("span", { class: "label", text: T.park }));
  const parkedList = h("ul", { class: "qt-list", "data-testid": "parked" });
  const waitingList = h("ul", { class: "qt-list", "data-testid": "waiting-tickets" });
  const box = h("div", { class: "card side-card queue-tools", "data-testid": "queue-tools" },
    h("div", { class: "qt-head" }, h("h2", {}, icon("list"), T.title), parkBtn),
    h("h3", { class: "qt-sub" }, icon("pause"), T.parkedTitle), parkedList,
    h("h3", { class: "qt-sub" }, icon("people"), T.waitingTitle), waitingList);
  let tickets = [];
  let soon = null;
  let lastKey = "";

  function win() {
    const w = getWindow();
    return w ? w.number : null;
  }

  async function load() {
    const n = win();
    if (n === null) return;
    try {
      tickets = (await api.get(`/api/windows/${n}/waiting`)).tickets || [];
    } catch {
      return;     // signed out or offline: clerk.js shows that; keep the last list
    }
    drawLists(getWindow());
  }

  function draw(w) {
    if (!w) return;
    drawLists(w);
    // reload the list when what the window sees of the queue changed
    const key = JSON.stringify([w.current && w.current.id, w.current && w.current.state, w.parked.map((p) => p.id),
      w.paused]);
    clearTimeout(soon);
    soon = setTimeout(load, key === lastKey ? SETTLE_MS * 4 : SETTLE_MS);
    lastKey = key;
  }

  function drawLists(w) {
    if (!w) return;
    const busy = isBusy();
    const cur = w.current;
    parkBtn.disabled = busy || !cur;
    clear(parkedList, (w.parked || []).length ? w.parked.map((p) => h("li", { "data-number": p.number },
      h("span", { class: "qt-number", text: p.number }),
      h("span", { class: "muted", text: T.parkedSince(hhmm(p.parked_at)) }),
      h("button", { type: "button", class: "btn", "data-testid": `resume-${p.number}`,
        disabled: busy || w.paused || !!cur, title: cur ? T.resumeBlocked(cur.number) : "",
        onclick: () => resume(p) }, icon("resume"), T.resume)))
      : h("li", { class: "muted", text: T.noneParked }));
    const dueAhead = [];
    clear(waitingList, tickets.length ? tickets.map((t) => {
      const row = h("li", { "data-number": t.number },
        h("span", { class: "qt-number", text: t.number }),
        t.lane !== "normal" ? h("span", { class: "badge warn", text: T.lane[t.lane] || t.lane }) : null,
        t.due_appointment ? h("span", { class: "badge ok" }, icon("appointment"), T.dueAppointment) : null,
        h("span", { class: "muted", text: T.issued(hhmm(t.issued_at)) }),
        h("button", { type: "button", class: "btn", "data-testid": `choose-${t.number}`,
          disabled: busy || w.paused || (cur && cur.state === "called"),
          onclick: ((ahead) => () => choose(t, ahead))([...dueAhead]) }, icon("call"), T.choose),
        h("button", { type: "button", class: "btn", "data-testid": `cancel-${t.number}`, disabled: busy,
          onclick: () => cancel(t) }, icon("noshow"), T.cancel));
      if (t.due_appointment) dueAhead.push(t.number);
      return row;
    }) : h("li", { class: "muted", text: T.noneWaiting }));
  }

  function reasonPicker(options, testid) {
    let picked = null;
    const input = h("input", { type: "text", maxlength: 60, "data-testid": `${testid}-text`, "aria-label": T.reasonText,
      placeholder: T.reasonText });
    const chips = h("div", { class: "chips", role: "radiogroup" }, options.map((o) => h("button", {
      type: "button", class: "chip", role: "radio", "aria-checked": "false", "data-testid": `${testid}-${o.code}`,
      onclick: (e) => {
        picked = o;
        for (const b of chips.children) b.setAttribute("aria-checked", String(b === e.currentTarget));
        if (o.needs_text) input.focus();
      } }, o.label)));
    const err = h("div", { class: "note bad", hidden: true, role: "alert" });
    return {
      nodes: [chips, h("div", { class: "field" }, input), err],
      value() {
        const text = input.value.trim();
        if (!picked && !text) { clear(err, icon("alert"), T.needReason); err.hidden = false; return null; }
        if (picked && picked.needs_text && !text) { clear(err, icon("alert"), T.needText(picked.label)); err.hidden = false; return null; }
        return { code: picked ? picked.code : null, label: picked ? picked.label : "", text };
      },
    };
  }

  /**
   * A dialog that asks why (a reason chip, words, or both) and, once the answer is complete, closes and
   * runs `act(answer)`; `name` makes its test ids (`${name}-dialog`, `${name}-reason-…`, `${name}-confirm`).
   */
  function askReason({ name, title, hint, warn = null, options, confirm, act }) {
    const pick = reasonPicker(options, `${name}-reason`);
    modal({ title, testid: `${name}-dialog`, body: [h("p", { class: "muted", text: hint }), warn, ...pick.nodes],
      actions: [{ label: C.cancel, cls: "btn" }, { label: confirm, cls: "btn primary", testid: `${name}-confirm`,
        onClick: () => {
          const r = pick.value();
          if (!r) return false;
          run(() => act(r));
          return true;
        } }] });
  }

  /** The reason as one line for the ticket's history: "label：words", or either alone. */
  const reasonLine = (r) => (r.text ? (r.label ? `${r.label}：${r.text}` : r.text) : r.label);

  function choose(t, dueAhead) {
    const warn = dueAhead.length ? h("div", { class: "note bad", "data-testid": "choose-warning" },
      icon("alert"), T.willPassOver(dueAhead)) : null;
    askReason({ name: "choose", title: T.chooseTitle(t.number), hint: T.chooseHint, warn, options: T.chooseReasons,
      confirm: T.choose, act: async (r) => {
        const res = await api.post(`/api/windows/${win()}/call-chosen`, { ticket_id: t.id, reason: reasonLine(r) });
        const passed = (res.passed_over || []).map((p) => p.number);
        say(passed.length ? T.chosenPassed(t.number, passed) : T.chosen(t.number), passed.length ? "bad" : "ok");
      } });
  }

  function cancel(t) {
    askReason({ name: "cancel", title: T.cancelTitle(t.number), hint: T.cancelHint, options: T.cancelReasons,
      confirm: T.cancelConfirm, act: async (r) => {
        await api.post(`/api/windows/${win()}/tickets/${t.id}/cancel`, { reason: reasonLine(r) });
        say(T.cancelled(t.number), "ok");
      } });
  }

  function park() {
    const w = getWindow();
    if (!w || !w.current) return;
    const number = w.current.number;
    run(async () => {
      await api.post(`/api/windows/${w.number}/park`, {});
      say(T.parked(number), "ok");
    });
  }

  function resume(p) {
    run(async () => {
      await api.post(`/api/windows/${win()}/parked/${p.id}/resume`, {});
      say(T.resumed(p.number), "ok");
    });
  }

  function choosePause() {
    askReason({ name: "pause", title: T.pauseTitle, hint: T.pauseHint, options: page.pause_reasons || [],
      confirm: T.pauseConfirm, act: async (r) => {
        await api.post(`/api/windows/${win()}/pause`, r.code ? { code: r.code, reason: r.text } : { reason: r.text });
        say(T.paused, "ok");
      } });
  }

  return { box, draw, choosePause, reload: load };
}

function hhmm(iso) {
  return iso ? iso.slice(11, 16) : "";
}
