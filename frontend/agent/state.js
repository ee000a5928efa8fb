// The console's model and its state machine. Live messages and API replies change the model;
// the state the agent sees (idle, ringing, on call, wrap-up) is derived from it, never kept
// apart from it, so a reload or a reconnect lands in the same state as before.

import { EQUIPMENT_FAULTS, dropFromEnded, callbackOfDrop, callbackIsFinal, incidentIsActive } from "/agent/alerts.js";

export const IDLE = "idle";
export const RINGING = "ringing";
export const ON_CALL = "on_call";
export const WRAP_UP = "wrap_up";

export function createModel(me) {
  return {
    me, // GET /api/me
    company: "",
    link: null, // the PBX link status from the snapshot, link.down and link.up
    live: new Map(), // call_id -> LiveView (calls in progress this agent is part of)
    consoleCalls: new Map(), // call_id -> ConsoleCall (caller panel)
    sessions: new Map(), // call_id -> SessionView (not done)
    ended: new Map(), // call_id -> call record, from call.ended
    transfers: new Map(), // call_id -> [{kind, target, at}]
    ringingSince: new Map(), // call_id -> epoch seconds
    holdSince: new Map(), // call_id -> epoch seconds, while on hold
    optionLabels: new Map(), // field name -> Map(option id -> label), for the wrap-up summary
    finished: new Set(), // call_ids whose session this agent has finished (or handed on)
    endpointFault: null, // "unreachable" / "unregistered" while the agent's own phone is faulty
    drop: null, // {callId, customer, at, callback}: the last call cut under this agent
    incidents: new Map(), // incident id -> {incident, callIds}: line faults over calls
    clearedIncidents: new Set(), // incident ids a line.incident message said are over
  };
}

/** Apply one live message; returns the call it concerns (or null). */
export function applyMessage(model, message) {
  switch (message.type) {
    case "snapshot":
      model.live = new Map((message.calls || []).map((call) => [call.call_id, call]));
      model.link = message.link ?? model.link;
      if ("endpoint_fault" in message) model.endpointFault = equipmentFault(message.endpoint_fault);
      return null;
    case "line.fault":
      if (message.location !== model.me.endpoint) return null;
      if (EQUIPMENT_FAULTS.has(message.fault)) model.endpointFault = message.fault;
      else if (message.fault === "recovered") model.endpointFault = null;
      return null;
    case "line.incident": {
      const incident = message.incident || {};
      if (incident.id === undefined || incident.id === null) return null;
      if (incidentIsActive(incident)) {
        model.incidents.set(incident.id, { incident, callIds: message.call_ids || [] });
        model.clearedIncidents.delete(incident.id);
      } else {
        model.incidents.delete(incident.id);
        model.clearedIncidents.add(incident.id);
      }
      return null;
    }
    case "callback.updated": {
      const callback = message.callback;
      if (callbackOfDrop(model.drop, callback)) model.drop = { ...model.drop, callback };
      else if (callback?.reason === "dropped" && callback.agent === model.me.endpoint && !callbackIsFinal(callback)
        && (!model.drop || model.drop.callId !== callback.call_id)) {
        // The console was not there when the call was cut (a reload): the callback says it.
        model.drop = { callId: callback.call_id, customer: callback.customer, at: callback.created_at || Date.now() / 1000, callback };
      }
      return null;
    }
    case "call.ringing":
    case "call.answered":
    case "call.hold":
    case "call.unhold":
    case "call.transferred": {
      const call = message.call;
      if (!call) return message.call_id || null;
      model.live.set(call.call_id, call);
      if (message.type === "call.ringing" && !model.ringingSince.has(call.call_id)) {
        model.ringingSince.set(call.call_id, message.at || Date.now() / 1000);
      }
      if (message.type === "call.hold") model.holdSince.set(call.call_id, message.at || Date.now() / 1000);
      if (message.type === "call.unhold" || !call.on_hold) model.holdSince.delete(call.call_id);
      if (message.type === "call.transferred") {
        const list = model.transfers.get(call.call_id) || [];
        list.push({ kind: message.kind, target: message.target, at: message.at });
        model.transfers.set(call.call_id, list);
      }
      return call.call_id;
    }
    case "call.ended": {
      // the calls merged into this one (a consultation call) end with it
      for (const id of [message.call_id, ...(message.merged || [])]) {
        model.live.delete(id);
        model.ringingSince.delete(id);
      }
      model.ended.set(message.call_id, message.record || {});
      const drop = dropFromEnded(message, model.me.endpoint);
      if (drop) model.drop = drop;
      return message.call_id;
    }
    case "call_script.updated":
      if (message.session) mergeSession(model, message.session);
      return message.call_id || message.session?.call_id || null;
    case "link.down":
      model.link = "down";
      return null;
    case "link.up":
      // The PBX is back: its picture of this agent's calls replaces ours, as a snapshot's does.
      model.live = new Map((message.calls || []).map((call) => [call.call_id, call]));
      model.link = message.link || "connected";
      return null;
    default:
      return null;
  }
}

function equipmentFault(fault) {
  return EQUIPMENT_FAULTS.has(fault) ? fault : null;
}

/** Take a SessionView unless we already hold a newer one of the same session. */
export function mergeSession(model, session) {
  if (!session) return false;
  for (const field of session.step?.fields || []) {
    if (!field.options) continue;
    if (!model.optionLabels.has(field.name)) model.optionLabels.set(field.name, new Map());
    for (const option of field.options) model.optionLabels.get(field.name).set(option.id, option.label);
  }
  const known = model.sessions.get(session.call_id);
  if (known && known.id === session.id && known.version > session.version) return false;
  if (session.status === "done") {
    model.sessions.delete(session.call_id);
    model.finished.add(session.call_id);
  } else model.sessions.set(session.call_id, session);
  return true;
}

/** GET /api/console: these are all the open sessions; any other we hold is done. */
export function replaceSessions(model, sessions) {
  const open = new Set();
  for (const session of sessions) {
    mergeSession(model, session);
    open.add(session.call_id);
  }
  for (const callId of [...model.sessions.keys()]) {
    if (open.has(callId)) continue;
    model.sessions.delete(callId);
    model.finished.add(callId);
  }
}

function mine(model, call, list) {
  return Boolean(model.me.endpoint) && (call[list] || []).includes(model.me.endpoint);
}

function newestFirst(a, b) {
  return (b.answered_at || 0) - (a.answered_at || 0) || (b.id || 0) - (a.id || 0);
}

/** A session whose call has ended is in wrap-up even before the server says so. */
export function sessionPhase(model, session) {
  if (session.status === "active" && model.ended.has(session.call_id)) return WRAP_UP;
  return session.status === "active" ? ON_CALL : WRAP_UP;
}

/** The state the console shows, and the call it shows it for. */
export function consoleState(model) {
  const sessions = [...model.sessions.values()].sort(newestFirst);
  const active = sessions.find((s) => sessionPhase(model, s) === ON_CALL);
  if (active) return { name: ON_CALL, callId: active.call_id };
  const talking = [...model.live.values()].find(
    (c) => mine(model, c, "agents") && c.answered_at && !model.finished.has(c.call_id),
  );
  if (talking && !model.sessions.has(talking.call_id)) return { name: ON_CALL, callId: talking.call_id };
  const ringing = ringingCalls(model)[0];
  if (ringing) return { name: RINGING, callId: ringing.call_id };
  const wrapping = sessions.find((s) => sessionPhase(model, s) === WRAP_UP);
  if (wrapping) return { name: WRAP_UP, callId: wrapping.call_id };
  return { name: IDLE, callId: null };
}

/** Calls ringing at this agent's phone that it has not answered. */
export function ringingCalls(model) {
  return [...model.live.values()].filter((c) => mine(model, c, "ringing") && !mine(model, c, "agents"));
}

/** Other calls needing the agent while it works on `callId` (a call waiting, a wrap-up). */
export function otherCalls(model, callId) {
  const others = [];
  for (const call of ringingCalls(model)) if (call.call_id !== callId) others.push({ kind: RINGING, callId: call.call_id, number: call.customer });
  for (const session of model.sessions.values()) {
    if (session.call_id === callId) continue;
    const number = model.consoleCalls.get(session.call_id)?.caller?.number ?? model.live.get(session.call_id)?.customer;
    others.push({ kind: sessionPhase(model, session), callId: session.call_id, number });
  }
  return others;
}

/** Whether this live message is about this agent's own calls. */
export function concernsMe(model, message) {
  const call = message.call;
  if (!call) {
    const id = message.call_id;
    return message.type === "call.ended" && (model.live.has(id) || model.sessions.has(id) || model.consoleCalls.has(id));
  }
  return (call.parties || []).includes(model.me.endpoint) || mine(model, call, "agents") || mine(model, call, "ringing");
}
