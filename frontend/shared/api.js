// The HTTP side of every page: logging in, the bearer token, and one fetch wrapper whose
// errors say what went wrong in words (an agent mid-call has no time for a stack trace).
import { h } from "/shared/dom.js";
import { t } from "/shared/i18n.js";

const TOKEN_KEY = "callassist.token";

/** The server answered, but not with 2xx. `errors` and `session` come from a 422. */
export class ApiError extends Error {
  constructor(status, body) {
    super(detailOf(body) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.detail = detailOf(body);
    this.errors = (body && typeof body === "object" && body.errors) || {};
  }
}

/** The request never got an answer: the network (or the server) is down. */
export class NetworkError extends Error {
  constructor(cause) {
    super(String(cause && cause.message ? cause.message : cause));
    this.name = "NetworkError";
  }
}

function detailOf(body) {
  if (!body || typeof body !== "object") return typeof body === "string" ? body : "";
  const detail = body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI's validation errors: "body.field: message"
    return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  }
  return "";
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

const unauthorizedHandlers = new Set();

/** Called when the server refuses the token (expired, revoked): the page shows the login. */
export function onUnauthorized(fn) {
  unauthorizedHandlers.add(fn);
  return () => unauthorizedHandlers.delete(fn);
}

/** POST /api/auth/token (OAuth2 password form); keeps the token for this tab only. */
export async function logIn(username, password) {
  const form = new URLSearchParams({ username, password });
  const reply = await request("/api/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
  sessionStorage.setItem(TOKEN_KEY, reply.access_token);
  return reply.access_token;
}

/**
 * POST /api/auth/logout: the server ends this token (it stops working everywhere, and its
 * live updates close), then the tab forgets it. Never throws: the tab forgets it anyway.
 */
export async function logOut() {
  const bearer = token();
  forgetToken();
  if (!bearer) return;
  try {
    await request("/api/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}` },
      keepalive: true,
    });
  } catch {
    /* already ended, or the server is away: the token expires with the shift anyway */
  }
}

/** JSON in, JSON out, with the bearer token; throws ApiError or NetworkError. */
export async function api(path, { method = "GET", body, signal, keepalive } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const init = { method, headers, signal, keepalive };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await request(path, init);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && bearer) {
      forgetToken();
      for (const fn of unauthorizedHandlers) fn(error);
    }
    throw error;
  }
}

async function request(path, init) {
  let reply;
  try {
    reply = await fetch(path, init);
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new NetworkError(error);
  }
  const text = await reply.text().catch(() => "");
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!reply.ok) throw new ApiError(reply.status, body);
  return body;
}

/** One line a person can act on. */
export function describeError(error) {
  if (error instanceof NetworkError) return t("error.network");
  if (error instanceof ApiError) {
    if (error.status === 401) return t("error.unauthorized");
    if (error.status === 403) return t("error.forbidden", { detail: error.detail });
    if (error.status === 404) return t("error.not_found", { detail: error.detail });
    if (error.status >= 500) return t("error.server", { status: error.status });
    return error.detail || t("error.http", { status: error.status });
  }
  return String((error && error.message) || error);
}

/**
 * Show a message in the page's toast area (#toasts): errors stay until closed, the rest
 * fade after a few seconds.
 */
export function notify(message, { kind = "error", sticky } = {}) {
  const area = document.getElementById("toasts");
  if (!area) {
    console.warn(message);
    return null;
  }
  const close = h("button", {
    class: "toast-close",
    type: "button",
    text: "×",
    attrs: { "aria-label": t("common.close") },
    on: { click: () => toast.remove() },
  });
  const toast = h("div", { class: `toast toast-${kind}`, attrs: { role: kind === "error" ? "alert" : "status" } },
    h("span", { class: "toast-text", text: message }), close);
  area.append(toast);
  while (area.children.length > 5) area.firstElementChild.remove();
  if (!(sticky ?? kind === "error")) setTimeout(() => toast.remove(), 6000);
  return toast;
}

export function reportError(error, prefix) {
  const text = describeError(error);
  return notify(prefix ? `${prefix}: ${text}` : text, { kind: "error" });
}
