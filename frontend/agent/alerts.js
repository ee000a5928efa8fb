// What the procedures ask of the agent when something breaks (issue 6):
// - a call cut by the network: say so, and follow the callback the service places at once
//   ("ringing your phone", "calling the customer", ...) from its callback.updated messages;
// - the agent's own phone unreachable or unregistered: the equipment check, until it is back;
// - a line fault on the call in progress: the line-fault procedure of the call script.
// The wording is derived from the messages alone, so the same message always reads the same.
import { h, kbd } from "/shared/dom.js";
import { t, label, language } from "/shared/i18n.js";
import "/agent/strings.js";

export const EQUIPMENT_FAULTS = new Set(["unreachable", "unregistered"]);
const ACTIVE_INCIDENT = new Set(["open", "acknowledged"]);
const RINGING_ATTEMPT = new Set(["placing", "sent", "ringing_agent"]);
const FINAL_CALLBACK = new Set(["reached", "not_reached", "closed"]);
const DROP_KEEP_SECONDS = 30 * 60; // a drop banner older than this is not restored
const DROP_KEY = "callassist.drop.";

// --- the cut call and its callback ----------------------------------------------------------

/** A call.ended this agent was on, with outcome "dropped": the start of the drop banner. */
export function dropFromEnded(message, endpoint) {
  const record = message.record || {};
  if (record.outcome !== "dropped") return null;
  const agents = [record.agent, ...(record.agents || [])];
  if (endpoint && !agents.includes(endpoint)) return null;
  return {
    callId: message.call_id,
    customer: record.customer || null,
    at: message.at || Date.now() / 1000,
    callback: null,
  };
}

/** Whether a callback.updated message is the callback of this drop. */
export function callbackOfDrop(drop, callback) {
  return Boolean(drop && callback && callback.call_id === drop.callId);
}

/**
 * The callback's state in words: {key, params, tone}. The precedence follows what the
 * agent must do now: answer their own phone first, then wait for the customer.
 */
export function describeCallback(callback, endpoint) {
  if (!callback) return { key: "callback_status.placing", params: {}, tone: "working" };
  const attempt = callback.attempt || null;
  const result = label("callback_result", callback.last_result);
  const time = callback.next_attempt_at ? hoursMinutes(callback.next_attempt_at) : "";
  switch (callback.status) {
    case "reached":
      return { key: "callback_status.reached", params: {}, tone: "good" };
    case "not_reached":
      return { key: "callback_status.not_reached", params: { result }, tone: "bad" };
    case "closed":
      return { key: "callback_status.closed", params: {}, tone: "done" };
    case "queued":
      return { key: "callback_status.queue", params: {}, tone: "waiting" };
    case "dialling":
      if (attempt?.status === "agent_answered") return { key: "callback_status.calling_customer", params: {}, tone: "working" };
      if (attempt && RINGING_ATTEMPT.has(attempt.status)) {
        if (attempt.agent && attempt.agent === endpoint) return { key: "callback_status.ringing_you", params: {}, tone: "action" };
        return { key: "callback_status.ringing_agent", params: { agent: attempt.agent || "?" }, tone: "working" };
      }
      return { key: "callback_status.placing", params: {}, tone: "working" };
    default: // pending: the next attempt is due later, or something holds it back
      if (callback.waiting_for) return { key: "callback_status.waiting", params: { reason: callback.waiting_for }, tone: "waiting" };
      if (callback.last_result && time) return { key: "callback_status.retry", params: { result, time }, tone: "waiting" };
      if (time && callback.next_attempt_at > Date.now() / 1000) return { key: "callback_status.next_at", params: { time }, tone: "waiting" };
      return { key: "callback_status.placing", params: {}, tone: "working" };
  }
}

/** HH:MM: when the next try comes, to the minute. */
function hoursMinutes(epochSeconds) {
  return new Intl.DateTimeFormat(language(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(epochSeconds * 1000));
}

/** The drop a ringing call calls back, when it is one of the service's callbacks. */
export function callbackFor(model, live) {
  const tags = Object.fromEntries(live?.tags || []);
  const forCall = tags.CALLASSIST_CALLBACK_FOR;
  if (!forCall) return null;
  const drop = model.drop?.callId === forCall ? model.drop : null;
  return { callId: forCall, customer: drop?.customer || drop?.callback?.customer || null };
}

export function callbackIsFinal(callback) {
  return Boolean(callback && FINAL_CALLBACK.has(callback.status));
}

/** The banner over every view: the call was cut, and where its callback stands. */
export function renderDrop(drop, endpoint, onDismiss, { wrapUpPending = false } = {}) {
  const status = describeCallback(drop.callback, endpoint);
  const attempts = drop.callback?.attempts || 0;
  return h("section", { class: `alert alert-drop tone-${status.tone}`, attrs: { role: "status", "aria-live": "polite" }, dataset: { test: "drop-banner" } },
    h("span", { class: "alert-icon", attrs: { "aria-hidden": "true" } }, "✂"),
    h("div", { class: "alert-body" },
      h("div", { class: "alert-title" }, t("drop.title"),
        drop.customer ? h("span", { class: "alert-number", text: ` ${t("drop.customer", { number: drop.customer })}` }) : null),
      h("div", { class: "alert-status", dataset: { test: "callback-status", key: status.key } },
        t("drop.calling_back", { status: t(status.key, status.params) }),
        attempts > 1 ? h("span", { class: "muted", text: ` · ${t("drop.attempt", { n: attempts })}` }) : null),
      wrapUpPending ? h("div", { class: "alert-hint muted", text: t("drop.hint") }) : null),
    h("button", { type: "button", class: "btn btn-small alert-dismiss", attrs: { "aria-label": t("drop.dismiss"), title: t("drop.dismiss") }, on: { click: onDismiss } }, "×"));
}

/** The drop banner survives a reload of the page (not a new login): sessionStorage. */
export function saveDrop(username, drop) {
  const key = DROP_KEY + username;
  if (drop) sessionStorage.setItem(key, JSON.stringify(drop));
  else sessionStorage.removeItem(key);
}

export function loadDrop(username, now = Date.now() / 1000) {
  try {
    const drop = JSON.parse(sessionStorage.getItem(DROP_KEY + username) || "null");
    if (drop && drop.callId && now - (drop.at || 0) < DROP_KEEP_SECONDS) return drop;
  } catch {
    /* a damaged entry is no banner */
  }
  return null;
}

// --- the agent's own phone ------------------------------------------------------------------

/** The equipment check: prominent, with the checks the procedure asks for. */
export function renderEquipment(fault, endpoint, { onRecheck, checking }) {
  const what = fault === "unregistered" ? "equipment.unregistered" : "equipment.unreachable";
  return h("section", { class: "alert alert-equipment", attrs: { role: "alert" }, dataset: { test: "equipment-check" } },
    h("span", { class: "alert-icon", attrs: { "aria-hidden": "true" } }, "☎"),
    h("div", { class: "alert-body" },
      h("div", { class: "alert-title", text: t("equipment.title") }),
      h("div", { class: "alert-status", text: t(what, { endpoint: endpoint || "" }) }),
      h("ul", { class: "alert-checks" },
        ["equipment.check_power", "equipment.check_headset", "equipment.check_softphone", "equipment.check_tell"]
          .map((key) => h("li", { text: t(key) })))),
    h("button", { type: "button", class: "btn btn-small", disabled: Boolean(checking), on: { click: onRecheck } },
      checking ? t("shift.checking") : t("equipment.recheck")));
}

// --- a line fault on the call ---------------------------------------------------------------

export function incidentIsActive(incident) {
  return ACTIVE_INCIDENT.has(incident?.status) && !incident?.recovered_at;
}

/**
 * The incidents over this call: from GET /api/console/calls/{id} (what a reload knows) and
 * from line.incident messages since; a message that clears one wins over the earlier fetch.
 */
export function incidentsOfCall(model, callId, consoleCall) {
  const found = new Map();
  for (const incident of consoleCall?.incidents || []) found.set(incident.id, incident);
  for (const entry of model.incidents.values()) {
    if ((entry.callIds || []).includes(callId)) found.set(entry.incident.id, entry.incident);
  }
  return [...found.values()].filter((incident) => !model.clearedIncidents.has(incident.id) && incidentIsActive(incident));
}

/** The banner over the call script, with the button that takes the line-fault branch. */
export function renderIncident(incidents, session, onTake) {
  if (!incidents.length) return null;
  const branch = (session?.branches || []).find((b) => b.kind === "line_fault") || null;
  const inside = Boolean(branch && session?.step?.id === branch.to);
  const done = Boolean(branch && !inside && (session?.history || []).some((visit) => visit.step === branch.to && visit.left_at));
  const first = incidents[0];
  const button = branch && !inside
    ? h("button", {
      type: "button",
      class: `btn ${done ? "btn-small" : "btn-primary"} btn-line-fault`,
      disabled: !branch.available,
      dataset: { branch: branch.id },
      attrs: { title: branch.available ? null : t("branch.unavailable") },
      on: { click: () => onTake(branch.id) },
    }, h("span", { text: done ? t("line_incident.again") : t("line_incident.start") }), branch.key ? kbd(`Alt+${branch.key.toUpperCase()}`) : null)
    : null;
  const state = inside ? t("line_incident.in_progress") : done ? t("line_incident.done") : t("line_incident.todo");
  const shape = inside ? " is-inside" : done ? " is-done" : "";
  return h("section", { class: `alert alert-incident${shape}`, attrs: { role: "alert" }, dataset: { test: "line-incident" } },
    h("span", { class: "alert-icon", attrs: { "aria-hidden": "true" } }, "⚠"),
    h("div", { class: "alert-body" },
      h("div", { class: "alert-title", text: t("line_incident.title") }),
      h("div", { class: "alert-status", text: t("line_incident.detail", { kind: label("incident_kind", first.kind), location: first.location, level: first.level }) }),
      incidents.length > 1 ? h("div", { class: "muted small", text: t("line_incident.more", { n: incidents.length - 1 }) }) : null,
      h("div", { class: "alert-hint", text: state })),
    button);
}
