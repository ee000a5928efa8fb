// The agent console: logs in, keeps the live link, and shows the state the agent is in
// (idle with the shift check, ringing with the pop, on call with the call script, wrap-up).
// The server is the truth: on load and on every reconnect the open call-script sessions
// are fetched again, after the actions queued while offline have been sent.
import { h, fill, show, kbd } from "/shared/dom.js";
import { api, token, forgetToken, logOut, onUnauthorized, notify, reportError, describeError, ApiError, NetworkError } from "/shared/api.js";
import { Live } from "/shared/live.js";
import { t, initLanguage, language, onLanguageChange, translatePage } from "/shared/i18n.js";
import { showLogin, whoAmI, setUpLanguageSwitch } from "/shared/login.js";
import { ActionSender } from "/agent/actions.js";
import { Drafts } from "/agent/drafts.js";
import { OnCallView } from "/agent/oncall.js";
import { WrapUpView } from "/agent/wrapup.js";
import { renderPop } from "/agent/pop.js";
import { tickClocks } from "/agent/progress.js";
import { runShiftCheck, latestShiftCheck, renderShiftCheck, RECHECK_KEY } from "/agent/shiftcheck.js";
import { installKeys } from "/agent/keys.js";
import { EQUIPMENT_FAULTS, renderDrop, renderEquipment, saveDrop, loadDrop, callbackIsFinal, callbackFor, incidentsOfCall } from "/agent/alerts.js";
import {
  IDLE, RINGING, ON_CALL, WRAP_UP,
  createModel, applyMessage, mergeSession, replaceSessions, consoleState, concernsMe,
} from "/agent/state.js";

const ME_KEY = "callassist.me";
const FRESH_LOGIN_KEY = "callassist.fresh-login";
const VIEWS = ["login", IDLE, RINGING, ON_CALL, WRAP_UP];
const CONNECT_GRACE_MS = 3000;
const FINAL_DROP_SHOWN_MS = 60_000; // a callback that is over stays on screen this long
const $ = (id) => document.getElementById(id);

class AgentConsole {
  constructor(me) {
    this.me = me;
    this.model = createModel(me);
    this.live = new Live(token);
    this.sender = new ActionSender(me.username, {
      linkUp: () => this.live.connected && navigator.onLine !== false,
      onReply: (item) => this.onReply(item),
      onRejected: (item) => this.onRejected(item),
      onQueue: () => this.renderBanner(),
    });
    this.drafts = new Drafts(this.sender);
    this.oncall = new OnCallView($("view-on_call"), this);
    this.wrapup = new WrapUpView($("view-wrap_up"), this);
    this.shift = { result: null, running: false, error: null };
    this.hungUp = new Set(); // calls whose hangup this console has sent
    this.snapshotSeen = false;
    this.callScriptErrors = [];
    this.state = { name: null, callId: null };
    this.refreshing = null;
    this.refreshAgain = false;
    this.model.drop = loadDrop(me.username);
    this.dropTimer = null;
  }

  start() {
    this.live.on("*", (message, type) => this.onMessage(message, type));
    this.live.on("status", () => {
      this.renderLink();
      this.renderBanner();
    });
    this.live.on("rtt", () => this.renderLink());
    this.live.on("unauthorized", () => relogin(t("login.expired")));
    this.drafts.restoreFromQueue(new Set(this.sender.load().map((item) => item.callId)));
    window.addEventListener("pagehide", () => this.drafts.park());
    window.addEventListener("online", () => this.renderBanner());
    window.addEventListener("offline", () => this.renderBanner());
    installKeys({
      state: () => this.state.name,
      oncall: this.oncall,
      wrapup: this.wrapup,
      recheck: () => this.runShiftCheck(),
    });
    setInterval(() => tickClocks(document.body, Date.now() / 1000), 1000);
    onLanguageChange(() => {
      this.renderChrome();
      this.render();
    });
    this.renderChrome();
    this.render();
    this.startedAt = Date.now();
    setTimeout(() => this.renderBanner(), CONNECT_GRACE_MS + 50);
    this.live.start();
    this.refresh(); // on load; again on every (re)connect
    this.startShiftCheck();
    this.refreshDrop();
  }

  stop() {
    this.live.stop();
    this.sender.stop();
  }

  // --- live messages -------------------------------------------------------------------

  onMessage(message, type) {
    if (type === "snapshot") {
      applyMessage(this.model, message);
      this.snapshotSeen = true;
      this.renderAlerts();
      this.afterConnect();
      return;
    }
    if (type === "line.fault") {
      this.onLineFault(message);
      return;
    }
    if (type === "line.incident") {
      this.onLineIncident(message);
      return;
    }
    if (type === "callback.updated") {
      applyMessage(this.model, message);
      this.dropChanged();
      return;
    }
    if (type === "link.down") {
      applyMessage(this.model, message);
      this.renderLink();
      return;
    }
    if (type === "link.up") {
      this.onLinkUp(message);
      return;
    }
    if (type === "call_script.updated") {
      if (this.oncall.moving) {
        // This tab's own step move, arriving before its reply: showing the new step now
        // would take a second Enter as meant for it and drop it. The reply brings it.
        this.oncall.afterMove.push(message);
        return;
      }
      applyMessage(this.model, message);
      if (message.session) this.drafts.reconcile(message.session);
      this.render();
      return;
    }
    if (!type || !type.startsWith("call.") || !concernsMe(this.model, message)) return;
    const callId = applyMessage(this.model, message);
    const endpoint = this.me.endpoint;
    if (type === "call.ringing" && (message.agent === endpoint || message.call?.ringing?.includes(endpoint))) {
      this.loadConsoleCall(callId).then(() => this.render());
    } else if (type === "call.answered" && message.agent === endpoint) {
      this.loadConsoleCall(callId).then(() => this.render());
    } else if (type === "call.transferred") {
      if (this.transferTakesAway(callId, message.target)) {
        notify(t("oncall.transfer_notice", { target: message.target || "?" }), { kind: "info" });
        this.hangUp(callId);
      }
      this.refresh();
    } else if (type === "call.ended") {
      this.hangUp(callId);
      this.refresh();
      if (this.model.drop?.callId === callId) this.dropChanged();
    }
    this.render();
  }

  /** The agent's own phone: the equipment check while it is faulty; other faults told. */
  onLineFault(message) {
    const before = this.model.endpointFault;
    applyMessage(this.model, message);
    const own = message.location === this.me.endpoint;
    if (own && message.fault === "recovered") {
      if (before) notify(t("equipment.back"), { kind: "success" });
    } else if (!(own && EQUIPMENT_FAULTS.has(message.fault))) {
      notify(t("fault.line", { fault: message.fault || "", location: message.location || "", detail: message.detail ?? "" }), { kind: "warning" });
    }
    this.renderAlerts();
  }

  /** A line fault over one of this agent's calls: the line-fault procedure, or it is over. */
  onLineIncident(message) {
    const callId = this.state.callId;
    const consoleCall = this.model.consoleCalls.get(callId);
    const before = callId ? incidentsOfCall(this.model, callId, consoleCall).length : 0;
    applyMessage(this.model, message);
    const after = callId ? incidentsOfCall(this.model, callId, consoleCall).length : 0;
    if (before && !after) notify(t("line_incident.over"), { kind: "success" });
    this.render();
  }

  /** The drop banner changed: keep it over a reload; a finished callback leaves after a while. */
  dropChanged() {
    const drop = this.model.drop;
    saveDrop(this.me.username, drop);
    clearTimeout(this.dropTimer);
    if (drop && callbackIsFinal(drop.callback)) {
      this.dropTimer = setTimeout(() => this.dismissDrop(drop.callId), FINAL_DROP_SHOWN_MS);
    }
    this.renderAlerts();
  }

  dismissDrop(callId) {
    if (callId && this.model.drop?.callId !== callId) return;
    this.model.drop = null;
    this.dropChanged();
  }

  /** After a reload: where the cut call's callback stands now (the desk may be absent). */
  async refreshDrop() {
    const drop = this.model.drop;
    if (!drop) return;
    try {
      const reply = await api(`/api/callbacks?status=all&reason=dropped&limit=50`);
      const callback = (reply.items || []).find((item) => item.call_id === drop.callId);
      if (callback && this.model.drop?.callId === drop.callId) {
        this.model.drop = { ...this.model.drop, callback };
        this.dropChanged();
      }
    } catch {
      /* no callback desk yet, or offline: the banner keeps what it knew */
    }
  }

  /** A transfer to someone else takes the call away from this agent's active session. */
  transferTakesAway(callId, target) {
    if (this.model.sessions.get(callId)?.status !== "active") return false;
    const endpoint = this.me.endpoint || "";
    return target !== endpoint && target !== endpoint.split("/").pop();
  }

  /** The call has left this agent: the session goes to wrap-up (the server expects it). */
  hangUp(callId) {
    const session = this.model.sessions.get(callId);
    if (!session || session.status !== "active" || this.hungUp.has(callId)) return;
    this.hungUp.add(callId);
    this.perform(callId, { kind: "hangup" });
  }

  async afterConnect() {
    await this.sender.flush();
    await this.refresh();
  }

  // --- the server's truth --------------------------------------------------------------

  refresh() {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          await this.loadAll();
        } catch (error) {
          if (!(error instanceof NetworkError)) reportError(error, t("error.refresh"));
        }
      } while (this.refreshAgain);
    })().finally(() => {
      this.refreshing = null;
      this.render();
    });
    return this.refreshing;
  }

  async loadAll() {
    const reply = await api("/api/console");
    this.model.company = reply.company || "";
    this.callScriptErrors = reply.call_script_errors || [];
    replaceSessions(this.model, reply.sessions || []);
    for (const session of reply.sessions || []) this.drafts.reconcile(session);
    const endpoint = this.me.endpoint;
    const wanted = new Set(this.model.sessions.keys());
    for (const call of this.model.live.values()) {
      if ((call.ringing || []).includes(endpoint) || (call.agents || []).includes(endpoint)) wanted.add(call.call_id);
    }
    const loads = [...wanted].filter((callId) => {
      const known = this.model.consoleCalls.get(callId);
      const live = this.model.live.get(callId);
      const needsSession = !this.model.sessions.has(callId) && !this.model.finished.has(callId)
        && (live?.agents || []).includes(endpoint);
      return !known || needsSession;
    });
    // An active session whose call is gone from the live picture ended while this console
    // was away: ask once more, and send the hangup the server waits for.
    const gone = this.snapshotSeen
      ? [...this.model.sessions.values()].filter((s) => s.status === "active" && !this.model.live.has(s.call_id))
      : [];
    for (const session of gone) if (!loads.includes(session.call_id)) loads.push(session.call_id);
    await Promise.all(loads.map((callId) => this.loadConsoleCall(callId)));
    for (const session of gone) {
      if (this.model.consoleCalls.get(session.call_id)?.call?.status === "ended") this.hangUp(session.call_id);
    }
    this.hangUpEnded();
  }

  /** Sessions that arrived after their call.ended (the session was still being opened). */
  hangUpEnded() {
    for (const callId of this.model.ended.keys()) this.hangUp(callId);
  }

  async loadConsoleCall(callId) {
    if (!callId) return;
    try {
      const reply = await api(`/api/console/calls/${encodeURIComponent(callId)}?language=${encodeURIComponent(language())}`);
      this.model.consoleCalls.set(callId, reply);
      if (reply.session) {
        mergeSession(this.model, reply.session);
        this.drafts.reconcile(reply.session);
        if (this.model.ended.has(callId)) this.hangUp(callId);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return; // not (any more) a party
      if (!(error instanceof NetworkError)) reportError(error, t("error.load_call"));
    }
  }

  // --- actions -------------------------------------------------------------------------

  /** Send one action of a call (the views call this); typed values go out first. */
  perform(callId, action) {
    this.drafts.flushNow(callId);
    return this.sender.send(callId, action);
  }

  onReply({ callId, body, reply }) {
    if (reply?.session) {
      mergeSession(this.model, reply.session);
      this.drafts.reconcile(reply.session);
    }
    for (const effect of reply?.effects || []) this.showEffect(effect, callId);
    if (body.kind === "wrap_up") {
      this.model.finished.add(callId);
      notify(t("wrapup.saved"), { kind: "success" });
      this.refresh();
    }
    this.render();
  }

  onRejected({ callId, body, error, queued }) {
    const session = error instanceof ApiError ? error.body?.session : null;
    if (session) {
      mergeSession(this.model, session);
      this.drafts.reconcile(session);
    } else {
      this.drafts.forget(callId);
    }
    const detail = describeError(error);
    this.render();
    if (body.kind === "wrap_up") this.wrapup.showError(detail);
    else if (this.state.callId === callId && this.state.name === ON_CALL) this.oncall.showError(detail, error.errors || {});
    if (queued || !session) {
      notify(t("queue.rejected", { action: t(`action.${body.kind}`), detail }), { kind: "error" });
    }
    if (!session) this.refresh();
  }

  showEffect(effect, callId) {
    switch (effect.kind) {
      case "complaint":
        notify(t("effect.complaint", { id: effect.id ?? effect.complaint_id ?? "" }), { kind: "success" });
        break;
      case "transfer":
        notify(t("effect.transfer", { department: effect.department || effect.target, target: effect.target || "" }), { kind: "info" });
        break;
      case "emergency":
        notify(t("effect.emergency"), { kind: "warning", sticky: true });
        break;
      case "callback": {
        // No number collected: the service calls back the number the customer called from.
        const number = effect.number || this.model.consoleCalls.get(callId)?.caller?.number || this.model.live.get(callId)?.customer;
        notify(number ? t("effect.callback", { number }) : t("effect.callback_caller"), { kind: "info" });
        break;
      }
      default:
        break;
    }
  }

  /** The PBX link is back: the banner clears, the calls are the PBX's again, and a shift
   * check that found the link down is run again (it would stay red until the next one). */
  onLinkUp(message) {
    applyMessage(this.model, message);
    this.renderLink();
    this.afterConnect(); // sessions of calls that ended meanwhile are asked for again
    if (this.shift.result && !this.shift.result.link?.up) this.runShiftCheck();
    this.render();
  }

  /** At login the check runs; after a reload the last one on record is shown. */
  async startShiftCheck() {
    if (sessionStorage.getItem(FRESH_LOGIN_KEY)) {
      sessionStorage.removeItem(FRESH_LOGIN_KEY);
      this.runShiftCheck();
      return;
    }
    try {
      const result = await latestShiftCheck();
      if (result === null) this.runShiftCheck();
      else {
        this.shift = { result, running: false, error: null };
        this.render();
      }
    } catch (error) {
      this.shift = { ...this.shift, error: t("shift.failed", { detail: describeError(error) }) };
      this.render();
    }
  }

  async runShiftCheck() {
    if (this.shift.running) return;
    this.shift = { ...this.shift, running: true, error: null };
    this.render();
    try {
      const result = await runShiftCheck(this.live);
      this.shift = { result, running: false, error: null };
    } catch (error) {
      this.shift = { ...this.shift, running: false, error: t("shift.failed", { detail: describeError(error) }) };
    }
    this.render();
  }

  // --- rendering -----------------------------------------------------------------------

  render() {
    const state = consoleState(this.model);
    const changed = state.name !== this.state.name || state.callId !== this.state.callId;
    this.state = state;
    document.body.dataset.state = state.name;
    for (const name of VIEWS) show($(`view-${name}`), name === state.name);
    const now = Date.now() / 1000;
    const lang = language();
    if (state.name === IDLE) this.renderIdle();
    else if (state.name === RINGING) this.renderRinging(state.callId, now);
    else if (state.name === ON_CALL) this.oncall.render({ model: this.model, callId: state.callId, now, lang });
    else if (state.name === WRAP_UP) this.wrapup.render({ model: this.model, callId: state.callId, lang });
    if (changed && state.name !== ON_CALL && state.name !== WRAP_UP) document.activeElement?.blur?.();
    this.renderPill();
    this.renderBanner();
    this.renderAlerts();
  }

  /** Over every view: the equipment check, and the cut call with its callback. */
  renderAlerts() {
    const fault = this.model.endpointFault;
    const drop = this.model.drop;
    fill($("alerts"),
      fault ? renderEquipment(fault, this.me.endpoint, { onRecheck: () => this.runShiftCheck(), checking: this.shift.running }) : null,
      drop ? renderDrop(drop, this.me.endpoint, () => this.dismissDrop(drop.callId), { wrapUpPending: this.model.sessions.has(drop.callId) }) : null);
  }

  renderIdle() {
    const ready = h("section", { class: "card ready-card" },
      h("div", { class: "ready-head" },
        h("span", { class: "ready-dot", attrs: { "aria-hidden": "true" } }),
        h("h2", { text: t("idle.ready") })),
      h("p", { class: "muted", text: t("idle.waiting", { endpoint: this.me.endpoint || t("idle.no_phone") }) }),
      this.me.endpoint ? null : h("p", { class: "warning", text: t("idle.no_phone_hint") }),
      this.callScriptErrors.length
        ? h("p", { class: "warning small", text: t("idle.call_script_errors", { errors: this.callScriptErrors.join("; ") }) })
        : null);
    fill($("view-idle"), h("div", { class: "idle" },
      h("div", { class: "idle-main" }, ready, renderShiftCheck(this.shift, () => this.runShiftCheck())),
      shortcutsCard()));
  }

  renderRinging(callId, now) {
    const live = this.model.live.get(callId);
    const callback = callbackFor(this.model, live);
    fill($("view-ringing"), renderPop(live, this.model.consoleCalls.get(callId), this.model.ringingSince.get(callId), now, callback));
  }

  renderPill() {
    const pill = $("state-pill");
    const name = this.state.name;
    pill.hidden = false;
    pill.className = `state-pill state-${name}`;
    pill.textContent = t(`state.${name}`);
    const number = this.model.live.get(this.state.callId)?.customer;
    document.title = name === RINGING ? `☎ ${number || ""} · callassist` : `${t(`state.${name}`)} · callassist`;
  }

  renderLink() {
    const el = $("link-status");
    el.hidden = false;
    const connected = this.live.connected;
    el.className = `link-status ${connected ? "up" : "down"}`;
    const pbxDown = this.model.link === "down";
    fill(el,
      h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
      connected ? t("link.live") : t("link.reconnecting"),
      connected && this.live.rtt !== null ? h("span", { class: "muted", text: ` · ${t("shift.ms", { ms: Math.round(this.live.rtt) })}` }) : null,
      pbxDown ? h("span", { class: "link-pbx-down", text: ` · ${t("link.pbx_down")}` }) : null);
  }

  renderBanner() {
    const banner = $("banner");
    const pending = this.sender.pending;
    // Not "offline" while the first connection is still being made (every page load).
    const starting = !this.live.everConnected && Date.now() - (this.startedAt || 0) < CONNECT_GRACE_MS;
    const offline = navigator.onLine === false || (!this.live.connected && !starting);
    if (offline) {
      banner.className = "banner banner-offline";
      banner.textContent = pending ? t("banner.offline_pending", { n: pending }) : t("banner.offline");
    } else if (pending) {
      banner.className = "banner banner-sending";
      banner.textContent = t("banner.sending", { n: pending });
    }
    banner.hidden = !offline && !pending;
    banner.dataset.pending = String(pending);
  }

  renderChrome() {
    const who = $("who");
    who.hidden = false;
    fill(who, h("span", { class: "who-name", text: this.me.display_name || this.me.username }),
      this.me.endpoint ? h("span", { class: "who-endpoint", text: this.me.endpoint }) : null);
    $("logout").hidden = false;
    this.renderLink();
  }
}

function shortcutsCard() {
  const rows = [
    ["↵", t("keys.next")],
    ["Alt+⌫", t("keys.back")],
    ["Alt+C / S / Q / E / L", t("keys.branch")],
    ["Alt+R", t("keys.refer")],
    ["Alt+N", t("keys.notes")],
    ["Alt+1…9", t("keys.disposition")],
    ["Ctrl+↵", t("keys.submit")],
    [RECHECK_KEY, t("keys.recheck")],
  ];
  return h("section", { class: "card keys-card" },
    h("h2", { text: t("keys.title") }),
    h("dl", { class: "keys" }, rows.map(([key, what]) => h("div", { class: "keys-row" }, h("dt", {}, kbd(key)), h("dd", { text: what })))));
}

// --- start-up ----------------------------------------------------------------------------

let agentConsole = null;

function showView(name) {
  document.body.dataset.state = name;
  for (const view of VIEWS) show($(`view-${view}`), view === name);
}

async function login(message) {
  showView("login");
  $("state-pill").hidden = true;
  await showLogin($("view-login"), { titleKey: "login.title_agent", message });
  sessionStorage.setItem(FRESH_LOGIN_KEY, "1");
  sessionStorage.removeItem(ME_KEY);
}

let relogging = false;

/** The login ran out mid-shift: log in again, then start afresh (nothing typed is lost:
 * the drafts go to the queue, which the next start sends). */
async function relogin(message) {
  if (relogging) return;
  relogging = true;
  if (agentConsole) {
    agentConsole.drafts.park();
    agentConsole.stop();
    agentConsole = null;
  }
  forgetToken();
  await login(message);
  location.reload();
}

async function begin() {
  if (!token()) await login();
  const me = await whoAmI({ offlineKey: ME_KEY });
  if (!me) {
    await login(t("login.expired"));
    return begin();
  }
  if (me.role !== "agent") notify(t("agent.not_agent", { role: me.role }), { kind: "warning", sticky: true });
  agentConsole = new AgentConsole(me);
  agentConsole.start();
  return agentConsole;
}

function main() {
  initLanguage();
  translatePage();
  setUpLanguageSwitch($("language"));
  $("logout").addEventListener("click", async () => {
    await logOut();
    sessionStorage.clear();
    location.reload();
  });
  onUnauthorized(() => {
    if (agentConsole) relogin(t("login.expired"));
  });
  begin();
  window.callassistConsole = () => agentConsole; // for the browser tests and for debugging
}

main();
