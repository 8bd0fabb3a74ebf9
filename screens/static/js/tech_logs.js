// The technician's 日志 tab: the service log's tail, problems only on request. Words: i18n/tech.js.
import T from "../i18n/tech.js";
import { card, select } from "./staff.js";
import { guarded } from "./tech_panel.js";
import { button, clear, h } from "./ui.js";

export function logsPanel({ api, polled }) {
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
