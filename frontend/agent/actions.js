// Every console action goes to POST /api/console/calls/{call_id}/actions, in order, with an
// id made here, so a re-send after a network blip is applied once. When the network (or the
// live link) is down the action waits in a queue in localStorage, kept per user, and goes out
// in order when the link returns: nothing typed during a blip is lost, even over a reload.
import { api, ApiError, NetworkError } from "/shared/api.js";

const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 20_000];
const SERVER_ERROR_ATTEMPTS = 5; // a 5xx this often in a row: give the action up, say so

export function newActionId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // Plain-HTTP pages off loopback are not a "secure context" and lack randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class ActionSender {
  /**
   * linkUp(): whether to try the network now (the live link is up).
   * onReply({callId, body, reply}), onRejected({callId, body, error}), onQueue(count).
   */
  constructor(username, { linkUp, onReply, onRejected, onQueue }) {
    this.key = `callassist.queue.${username}`;
    this.linkUp = linkUp;
    this.onReply = onReply;
    this.onRejected = onRejected;
    this.onQueue = onQueue;
    this.chain = Promise.resolve();
    this.retryTimer = null;
    this.retryAttempt = 0;
    this.stopped = false;
  }

  /** The queued actions, oldest first: [{callId, body, attempts}]. */
  load() {
    try {
      const items = JSON.parse(localStorage.getItem(this.key) || "[]");
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  save(items) {
    if (items.length) localStorage.setItem(this.key, JSON.stringify(items));
    else localStorage.removeItem(this.key);
    this.onQueue(items.length);
  }

  get pending() {
    return this.load().length;
  }

  /** Queued actions of one call: re-applied on top of what the server says after a reload. */
  queuedFor(callId) {
    return this.load().filter((item) => item.callId === callId).map((item) => item.body);
  }

  /** Send (or queue) one action; resolves to the server's reply, or null when queued/refused. */
  send(callId, action) {
    const body = { action_id: newActionId(), at: Date.now() / 1000, ...action };
    const run = this.chain.then(() => this.deliver({ callId, body, attempts: 0 }));
    this.chain = run.catch(() => null);
    return run;
  }

  /** Put an action straight into the queue (the page is going away: no time to send). */
  park(callId, action) {
    const body = { action_id: newActionId(), at: Date.now() / 1000, ...action };
    this.save([...this.load(), { callId, body, attempts: 0 }]);
  }

  async deliver(item) {
    if (this.load().length || !this.linkUp()) {
      this.save([...this.load(), item]);
      this.scheduleRetry();
      return null;
    }
    try {
      return await this.post(item);
    } catch (error) {
      if (this.keepForLater(error)) {
        this.save([...this.load(), { ...item, attempts: item.attempts + 1 }]);
        this.scheduleRetry();
        return null;
      }
      this.onRejected({ ...item, error });
      return null;
    }
  }

  async post(item) {
    const reply = await api(`/api/console/calls/${encodeURIComponent(item.callId)}/actions`, {
      method: "POST",
      body: item.body,
    });
    this.onReply({ ...item, reply });
    return reply;
  }

  keepForLater(error) {
    if (error instanceof NetworkError) return true;
    if (error instanceof ApiError) return error.status === 401 || error.status >= 500;
    return false;
  }

  /** Send the queue in order; stops at the first action the network cannot take yet. */
  flush() {
    const run = this.chain.then(() => this.drain());
    this.chain = run.catch(() => null);
    return run;
  }

  async drain() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    while (!this.stopped) {
      const [item, ...rest] = this.load();
      if (!item) {
        this.retryAttempt = 0;
        return true;
      }
      try {
        await this.post(item);
        this.save(this.load().filter((i) => i.body.action_id !== item.body.action_id));
      } catch (error) {
        const attempts = item.attempts + 1;
        const serverError = error instanceof ApiError && error.status >= 500;
        if (this.keepForLater(error) && !(serverError && attempts >= SERVER_ERROR_ATTEMPTS)) {
          this.save([{ ...item, attempts }, ...rest]);
          this.scheduleRetry();
          return false;
        }
        this.save(this.load().filter((i) => i.body.action_id !== item.body.action_id));
        this.onRejected({ ...item, error, queued: true });
      }
    }
    return false;
  }

  scheduleRetry() {
    if (this.retryTimer || this.stopped) return;
    const delay = RETRY_MS[Math.min(this.retryAttempt, RETRY_MS.length - 1)];
    this.retryAttempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.linkUp()) this.flush();
      else this.scheduleRetry();
    }, delay);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }
}
