// The public page of a village service station (/station/<id>): who the agents are and how to reach
// them, who is on duty today, the station's address and hours. For a screen at the village office
// or a villager's phone; it refreshes itself so the duty agent changes at midnight. /station lists
// the stations so a technician can pick one.
import T from "../i18n/station.js";
import { api } from "./api.js";
import { icon } from "./icons.js";
import { clear, h, masthead, pageData } from "./ui.js";

const page = pageData();
const villageId = (page.settings || {}).village_id;
const head = document.getElementById("masthead");
const stage = document.getElementById("stage");
const REFRESH_MS = 5 * 60 * 1000;

masthead(head, { hall: page.hall });

function telLink(phone, cls = "") {
  return h("a", { class: `tel ${cls}`, href: `tel:${phone}` }, icon("phone"), h("span", { text: phone }));
}

async function drawList() {
  const box = h("section", { class: "card station-list" }, h("h1", {}, icon("building"), T.listTitle),
    h("p", { class: "muted", text: T.listHint }));
  clear(stage, h("div", { class: "station" }, box));
  const r = await api.get("/api/village/stations");
  box.append(r.stations.length
    ? h("div", { class: "station-links" }, r.stations.map((s) => h("a", { class: "btn", href: `/station/${s.id}` },
      icon("building"), s.station_name)))
    : h("p", { class: "empty", text: T.listEmpty }));
}

async function draw() {
  let s;
  try {
    s = await api.get(`/api/village/stations/${villageId}`);
  } catch (err) {
    clear(stage, h("div", { class: "station" }, h("div", { class: "note bad" }, icon("alert"), err.status === 404 ? T.notFound : err.message)));
    return;
  }
  masthead(head, { hall: s.village.station_name, subtitle: T.subtitle(page.hall) });
  const duty = s.on_duty
    ? h("div", { class: "duty-now", "data-testid": "on-duty" },
      h("div", { class: "avatar", text: s.on_duty.name.slice(0, 1) }),
      h("div", { class: "who" }, h("div", { class: "name", text: s.on_duty.name }),
        h("div", { class: "muted", text: s.on_duty.duty }), telLink(s.on_duty.phone, "big")))
    : h("div", { class: "note info", "data-testid": "on-duty" }, icon("info"), s.workday ? T.noDuty : T.restDay);
  const agents = h("ul", { class: "agents", "data-testid": "agents" }, s.agents.map((a) => h("li", {},
    h("div", { class: "avatar small", text: a.name.slice(0, 1) }),
    h("div", { class: "grow" }, h("strong", { text: a.name }), h("div", { class: "muted", text: a.duty })),
    telLink(a.phone))));
  const info = h("dl", { class: "info" },
    s.village.address ? [h("dt", {}, icon("map"), T.address), h("dd", { text: s.village.address })] : null,
    s.village.hours ? [h("dt", {}, icon("clock"), T.hours), h("dd", { text: s.village.hours })] : null,
    s.village.phone ? [h("dt", {}, icon("phone"), T.phone), h("dd", {}, telLink(s.village.phone))] : null);
  const week = h("ol", { class: "week" }, s.week.map((d) => {
    const w = T.weekdays[new Date(`${d.day}T12:00:00`).getDay()];
    return h("li", { class: `${d.day === s.today ? "today" : ""} ${d.workday ? "" : "rest"}` },
      h("span", { class: "d" }, h("span", { text: T.dateFmt(d.day) }), h("span", { text: T.weekdayFmt(w) })),
      h("span", { class: "n", text: !d.workday ? T.rest : d.agent ? d.agent.name : T.none }));
  }));
  const qr = h("figure", { class: "qr" }, h("img", { src: `/screens/qr.svg?path=${encodeURIComponent(location.pathname + location.search)}`, alt: T.qr }),
    h("figcaption", { text: T.qr }));
  clear(stage, h("div", { class: "station" },
    h("section", { class: "card duty-card" }, h("h2", {}, icon("user"), T.onDuty), duty),
    h("section", { class: "card" }, h("h2", {}, icon("people"), T.agents),
      s.agents.length ? agents : h("p", { class: "muted", text: T.agentsEmpty })),
    h("section", { class: "card" }, h("h2", {}, icon("clock"), T.week), week),
    h("section", { class: "card" }, h("h2", {}, icon("building"), T.info), info),
    h("section", { class: "card service" }, h("h2", {}, icon("guide"), T.serviceTitle),
      h("ul", {}, T.service.map((t) => h("li", { text: t }))), qr)));
}

if (villageId) {
  draw();
  setInterval(draw, REFRESH_MS);
} else {
  drawList();
}
