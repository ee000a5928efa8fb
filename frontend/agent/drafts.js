// What the agent typed and the server has not confirmed yet: field values and notes, per
// call. Typing sends a debounced `set` / `note`, so the server always has what was typed;
// until it confirms, the typed value wins over the server's older one on screen.

const DEBOUNCE_MS = 400;

export class Drafts {
  constructor(sender, { delayMs = DEBOUNCE_MS } = {}) {
    this.sender = sender;
    this.delayMs = delayMs;
    this.fields = new Map(); // callId -> Map(name -> value)
    this.notesText = new Map(); // callId -> text
    this.timers = new Map(); // `${callId}\n${what}` -> {timer, send}
  }

  fieldsOf(callId) {
    if (!this.fields.has(callId)) this.fields.set(callId, new Map());
    return this.fields.get(callId);
  }

  setField(callId, name, value) {
    this.fieldsOf(callId).set(name, value);
    this.debounce(callId, `field:${name}`, () => this.sender.send(callId, { kind: "set", field: name, value }));
  }

  setNotes(callId, text) {
    this.notesText.set(callId, text);
    this.debounce(callId, "notes", () => this.sender.send(callId, { kind: "note", text }));
  }

  fieldValue(callId, name) {
    return this.fields.get(callId)?.get(name);
  }

  hasField(callId, name) {
    return Boolean(this.fields.get(callId)?.has(name));
  }

  notes(callId) {
    return this.notesText.get(callId);
  }

  debounce(callId, what, send) {
    const key = `${callId}\n${what}`;
    const pending = this.timers.get(key);
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      send();
    }, this.delayMs);
    this.timers.set(key, { timer, send, callId });
  }

  pendingFor(callId) {
    return [...this.timers.values()].some((p) => p.callId === callId);
  }

  /** Send what is waiting for its debounce now (before `next` or `wrap_up`). */
  flushNow(callId) {
    for (const [key, pending] of [...this.timers]) {
      if (callId && pending.callId !== callId) continue;
      clearTimeout(pending.timer);
      this.timers.delete(key);
      pending.send();
    }
  }

  /** The page is going away: queue what waits for its debounce, to be sent on the next load. */
  park() {
    for (const [key, pending] of [...this.timers]) {
      clearTimeout(pending.timer);
      this.timers.delete(key);
      const what = key.split("\n")[1];
      if (what === "notes") this.sender.park(pending.callId, { kind: "note", text: this.notesText.get(pending.callId) ?? "" });
      else {
        const name = what.slice("field:".length);
        this.sender.park(pending.callId, { kind: "set", field: name, value: this.fieldValue(pending.callId, name) ?? "" });
      }
    }
  }

  /** Drop the drafts the server now holds (and nothing is waiting to be sent for them). */
  reconcile(session) {
    const callId = session.call_id;
    const queued = this.sender.queuedFor(callId);
    const waiting = (what) => this.timers.has(`${callId}\n${what}`);
    const local = this.fields.get(callId);
    if (local) {
      for (const [name, value] of [...local]) {
        const server = session.fields?.[name] ?? "";
        const stillQueued = queued.some((a) => a.kind === "set" && a.field === name);
        const same = String(server).trim() === String(value ?? "").trim(); // stored trimmed
        if (!waiting(`field:${name}`) && !stillQueued && same) local.delete(name);
      }
    }
    if (this.notesText.has(callId) && !waiting("notes") && !queued.some((a) => a.kind === "note")) {
      if ((session.notes ?? "") === this.notesText.get(callId)) this.notesText.delete(callId);
    }
  }

  /** After a reload while offline: what sits in the queue is what the agent last typed. */
  restoreFromQueue(callIds) {
    for (const callId of callIds) {
      for (const action of this.sender.queuedFor(callId)) {
        if (action.kind === "set") this.fieldsOf(callId).set(action.field, action.value);
        if (action.kind === "note") this.notesText.set(callId, action.text);
      }
    }
  }

  /** The server refused an action of this call: its drafts cannot be trusted any more. */
  forget(callId) {
    this.fields.delete(callId);
    this.notesText.delete(callId);
    for (const [key, pending] of [...this.timers]) {
      if (pending.callId !== callId) continue;
      clearTimeout(pending.timer);
      this.timers.delete(key);
    }
  }
}
