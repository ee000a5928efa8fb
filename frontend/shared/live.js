// The live link: /ws?token=..., reconnecting with back-off, acknowledging pops, dropping
// re-sent duplicates, and pinging every 10 s so a dead link is noticed (and the round trip
// is known) before the agent notices it.

const PING_EVERY_MS = 10_000;
const PONG_WITHIN_MS = 5_000;
const BACKOFF_MS = [500, 1_000, 2_000, 4_000, 8_000, 15_000];
const REMEMBER_IDS = 1_000;
const POLICY_VIOLATION = 1008; // the server refused the token: log in again

export class Live {
  /** tokenOf(): the current bearer token, or null when logged out. */
  constructor(tokenOf) {
    this.tokenOf = tokenOf;
    this.listeners = new Map();
    this.socket = null;
    this.generation = 0;
    this.attempt = 0;
    this.connected = false;
    this.everConnected = false;
    this.rtt = null;
    this.seen = new Set();
    this.maxSeenId = 0;
    this.pendingPongs = [];
    this.timers = { ping: null, pong: null, retry: null };
    this.running = false;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.drop("offline");
  }

  /** on("call.ringing", fn); special names: open, close, status, rtt, unauthorized, "*". */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, payload) {
    for (const key of [type, "*"]) {
      for (const fn of this.listeners.get(key) || []) {
        try {
          fn(payload, type);
        } catch (error) {
          console.error(`live: listener for ${type} failed`, error);
        }
      }
    }
  }

  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop() {
    this.running = false;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.clearTimers();
    this.generation += 1;
    if (this.socket) this.socket.close(1000, "logged out");
    this.socket = null;
    this.setConnected(false);
  }

  connect() {
    const bearer = this.tokenOf();
    if (!this.running || !bearer) return;
    this.clearTimers();
    const generation = ++this.generation;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/ws?token=${encodeURIComponent(bearer)}`;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    const mine = (fn) => (event) => {
      if (generation === this.generation) fn(event);
    };
    socket.onopen = mine(() => {
      this.attempt = 0;
      this.everConnected = true;
      this.setConnected(true);
      this.emit("open");
      this.ping();
      this.timers.ping = setInterval(() => this.ping(), PING_EVERY_MS);
    });
    socket.onmessage = mine((event) => this.receive(event.data));
    socket.onclose = mine((event) => this.closed(event.code, event.reason));
    socket.onerror = () => {}; // onclose follows and decides
  }

  /** Give up on the current socket now (pong overdue, browser offline) and retry. */
  drop(reason) {
    if (!this.socket) return;
    const socket = this.socket;
    this.closed(4000, reason);
    try {
      socket.close(4000, reason);
    } catch {
      /* already closing */
    }
  }

  reconnectNow() {
    if (!this.running) return;
    if (this.connected) return;
    this.attempt = 0;
    this.connect();
  }

  closed(code, reason) {
    this.generation += 1; // later events of this socket are ignored
    this.socket = null;
    this.clearTimers();
    this.setConnected(false);
    for (const waiter of this.pendingPongs.splice(0)) waiter.resolve(null);
    this.emit("close", { code, reason });
    if (code === POLICY_VIOLATION) {
      this.running = false;
      this.emit("unauthorized", { reason });
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (!this.running) return;
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    const delay = base * (0.75 + Math.random() * 0.5);
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.connect(), delay);
    this.emit("status", { connected: false, retryInMs: delay });
  }

  clearTimers() {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    clearTimeout(this.timers.retry);
    this.timers = { ping: null, pong: null, retry: null };
  }

  setConnected(value) {
    if (this.connected === value) return;
    this.connected = value;
    this.emit("status", { connected: value });
  }

  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.ack) this.send({ type: "ack", id: message.id });
    if (message.type === "pong") {
      this.pong(message);
      return;
    }
    if (message.type === "snapshot" && typeof message.id === "number" && message.id < this.maxSeenId) {
      // The server restarted and counts from 1 again: old ids mean nothing now.
      this.seen.clear();
      this.maxSeenId = 0;
    }
    if (message.id !== undefined && message.id !== null) {
      if (this.seen.has(message.id)) return; // a re-sent pop: already handled
      this.remember(message.id);
    }
    this.emit(message.type, message);
  }

  remember(id) {
    this.seen.add(id);
    if (typeof id === "number") this.maxSeenId = Math.max(this.maxSeenId, id);
    if (this.seen.size > REMEMBER_IDS) {
      const oldest = this.seen.values().next().value;
      this.seen.delete(oldest);
    }
  }

  ping() {
    const sent = Date.now();
    if (!this.send({ type: "ping", sent })) return;
    this.lastPingSent = sent;
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => this.drop("no pong"), PONG_WITHIN_MS);
  }

  pong(message) {
    clearTimeout(this.timers.pong);
    const sent = typeof message.sent === "number" ? message.sent : this.lastPingSent;
    if (typeof sent !== "number") return;
    this.rtt = Math.max(0, Date.now() - sent);
    this.emit("rtt", { rtt: this.rtt });
    const waiter = this.pendingPongs.shift();
    if (waiter) waiter.resolve(this.rtt);
  }

  /** The round trip in ms over this link: the median of a few pings (null if no link). */
  async measureRtt(samples = 3, waitForLinkMs = 5_000) {
    const deadline = Date.now() + waitForLinkMs;
    while (!this.connected && Date.now() < deadline) await sleep(100);
    const values = [];
    for (let i = 0; i < samples && this.connected; i += 1) {
      const value = await new Promise((resolve) => {
        const waiter = { resolve };
        this.pendingPongs.push(waiter);
        this.ping();
        setTimeout(() => {
          const index = this.pendingPongs.indexOf(waiter);
          if (index >= 0) this.pendingPongs.splice(index, 1);
          resolve(null);
        }, PONG_WITHIN_MS);
      });
      if (value !== null) values.push(value);
      if (i + 1 < samples) await sleep(150);
    }
    if (!values.length) return null;
    values.sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)];
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
