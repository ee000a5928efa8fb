// The IT board: log in (IT, supervisors, admins), then the live picture of the lines — the
// PBX link, every endpoint and trunk, the incidents with their levels, the drop rate per
// trunk and the callbacks. REST gives the state on load and on every reconnect; WebSocket
// messages change it in between (an incident appears the moment it is detected).
import "/it/strings.js";
import { h, fill, show } from "/shared/dom.js";
import { api, token, forgetToken, logOut, onUnauthorized, notify, reportError } from "/shared/api.js";
import { Live } from "/shared/live.js";
import { t, initLanguage, onLanguageChange, translatePage } from "/shared/i18n.js";
import { showLogin, whoAmI, setUpLanguageSwitch } from "/shared/login.js";
import { tick } from "/it/format.js";
import { PbxLinks, LinesTable } from "/it/lines.js";
import { IncidentList } from "/it/incidents.js";
import { IncidentView } from "/it/incident.js";
import { DropChart } from "/it/chart.js";
import { CallbackList } from "/it/callbacks.js";

const IT_SIDE = new Set(["it", "supervisor", "admin"]);
const VIEWS = ["login", "board", "refused"];
// link.down and link.up say when the PBX link changes; the status is asked for besides, for
// what they do not carry (the PBX check, reconnect attempts), more often while it is down.
const STATUS_EVERY_MS = 15_000;
const STATUS_DOWN_EVERY_MS = 3_000;
const DROPS_EVERY_MS = 5 * 60_000;
const $ = (id) => document.getElementById(id);

class Board {
  constructor(me) {
    this.me = me;
    this.live = new Live(token);
    this.pbx = new PbxLinks($("pbx-link"));
    this.lines = new LinesTable($("card-lines"), this);
    this.incidents = new IncidentList($("card-incidents"), $("alerts"), this);
    this.incident = new IncidentView($("incident-view"), this);
    this.drops = new DropChart($("card-drops"));
    this.callbacks = new CallbackList($("card-callbacks"));
    this.statusTimer = null;
    this.dropsTimer = null;
    this.everOpen = false;
  }

  start() {
    this.live.on("*", (message, type) => this.onMessage(message, type));
    this.live.on("status", () => this.renderLiveLink());
    this.live.on("open", () => {
      // After a reconnect, what happened while away is only in the REST answers.
      if (this.everOpen) this.loadAll();
      this.everOpen = true;
    });
    this.live.on("unauthorized", () => relogin());
    onLanguageChange(() => this.renderAll());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.incident.isOpen()) this.incident.close();
    });
    setInterval(() => tick(document.body), 1000);
    this.renderChrome();
    this.renderAll();
    this.loadAll();
    this.pollStatus();
    this.dropsTimer = setInterval(() => this.drops.load(), DROPS_EVERY_MS);
    this.live.start();
  }

  loadAll() {
    this.loadStatus();
    this.lines.load();
    this.incidents.load();
    this.drops.load();
    this.callbacks.load();
    if (this.incident.isOpen()) this.incident.load();
  }

  async loadStatus() {
    try {
      const status = await api("/api/status");
      this.pbx.setStatus(status);
    } catch (error) {
      if (!this.pbx.state) reportError(error, t("it.pbx"));
    }
  }

  pollStatus() {
    clearTimeout(this.statusTimer);
    const every = this.pbx.isUp() ? STATUS_EVERY_MS : STATUS_DOWN_EVERY_MS;
    this.statusTimer = setTimeout(async () => {
      await this.loadStatus();
      this.pollStatus();
    }, every);
  }

  onMessage(message, type) {
    switch (type) {
      case "snapshot":
        this.pbx.setWord(message.link);
        break;
      case "link.down":
        this.pbx.of(message.pbx).down(message.at, message.reason);
        this.pollStatus();
        break;
      case "link.up":
        this.pbx.of(message.pbx).up(message.at);
        this.loadStatus(); // the address, the PBX check of this login
        this.pollStatus();
        break;
      case "line.status":
        this.lines.status(message.endpoint);
        break;
      case "line.fault":
        this.lines.fault(message);
        break;
      case "incident.opened":
        this.incidents.upsert(message.incident, { kind: "opened" });
        this.incident.changed(message.incident);
        break;
      case "incident.updated":
        this.incidents.upsert(message.incident);
        this.incident.changed(message.incident);
        break;
      case "incident.reminder":
        this.incidents.upsert(message.incident, { kind: "reminder" });
        this.incident.changed(message.incident);
        break;
      case "callback.updated":
        this.callbacks.update(message.callback);
        break;
      default:
        break;
    }
  }

  openIncident(id) {
    this.incident.open(id);
    this.incidents.render();
  }

  selectedIncident() {
    return this.incident ? this.incident.id : null;
  }

  renderAll() {
    this.renderChrome();
    this.pbx.render();
    this.lines.render();
    this.incidents.render();
    this.incidents.renderAlerts();
    this.incident.render();
    this.drops.render();
    this.callbacks.render();
  }

  renderChrome() {
    show($("logout"), true);
    show($("who"), true);
    fill($("who"), h("span", { class: "who-name", text: this.me.display_name || this.me.username }),
      h("span", { class: "who-endpoint", text: this.me.role }));
    this.renderLiveLink();
  }

  renderLiveLink() {
    const el = $("live-status");
    el.hidden = false;
    el.className = `link-status ${this.live.connected ? "up" : "down"}`;
    el.dataset.connected = String(this.live.connected);
    fill(el, h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
      h("span", { text: this.live.connected ? t("link.live") : t("link.reconnecting") }));
  }
}

function showView(name) {
  document.body.dataset.view = name;
  for (const view of VIEWS) show($(`view-${view}`), view === name);
}

/** Agents and QA reviewers get a plain answer and a way to their own page. */
function refuse(me) {
  showView("refused");
  show($("logout"), true);
  show($("who"), true);
  fill($("who"), h("span", { class: "who-name", text: me.display_name || me.username }), h("span", { class: "who-endpoint", text: me.role }));
  const render = () => fill($("view-refused"), h("div", { class: "card refused-card", attrs: { role: "alert", "data-test": "refused" } },
    h("h1", { text: t("it.not_it") }),
    h("p", { text: t("it.not_it_detail", { user: me.display_name || me.username, role: me.role }) }),
    h("p", { class: "refused-links" },
      me.role === "agent" ? h("a", { class: "btn btn-primary", href: "/agent/", text: t("it.not_it_agent") }) : null,
      me.role === "qa" ? h("a", { class: "btn btn-primary", href: "/qa/", text: t("it.not_it_qa") }) : null)));
  render();
  onLanguageChange(render);
}

let board = null;

async function login(message) {
  showView("login");
  await showLogin($("view-login"), { titleKey: "it.title_login", message });
}

async function begin() {
  if (!token()) await login();
  const me = await whoAmI();
  if (!me) {
    await login(t("login.expired"));
    return begin();
  }
  if (!IT_SIDE.has(me.role)) {
    refuse(me);
    return null;
  }
  showView("board");
  board = new Board(me);
  board.start();
  return board;
}

let relogging = false;

async function relogin() {
  if (relogging) return;
  relogging = true;
  if (board) board.live.stop();
  forgetToken();
  await login(t("login.expired"));
  location.reload();
}

function main() {
  initLanguage();
  translatePage();
  document.title = `callassist · ${t("it.page")}`;
  setUpLanguageSwitch($("language"));
  onLanguageChange(() => { if (!board) document.title = `callassist · ${t("it.page")}`; });
  $("logout").addEventListener("click", async () => {
    if (board) board.live.stop();
    await logOut();
    location.reload();
  });
  onUnauthorized(() => {
    if (board) relogin();
  });
  begin().catch((error) => notify(String(error && error.message ? error.message : error)));
  window.callassistBoard = () => board; // for the browser tests and for debugging
}

main();
