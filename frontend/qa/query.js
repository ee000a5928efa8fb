// The page's whole state lives in the URL's query string, so that a QA reviewer can send a
// colleague exactly what they see (filters, sort, page, the open call or complaint), and so
// that back and forward walk through it. This module only translates: URL <-> state <-> API.

export const SORTABLE = ["started_at", "ended_at", "talk_seconds", "hold_seconds", "score", "outcome", "agent", "customer", "queue"];
export const OUTCOMES = ["completed", "abandoned", "missed", "dropped", "failed"];
export const PAGE_SIZES = [25, 50, 100, 200];
export const DEFAULTS = { sort: "started_at", order: "desc", limit: 50, offset: 0 };

/** The call list's filters as they appear in the URL (and in the form). */
export const CALL_FILTERS = [
  "since", "until", "agent", "customer", "queue", "pbx", "outcome",
  "has_callback", "has_complaint", "disposition", "score_min", "score_max", "q",
];
/** The complaints list's own keys: prefixed, so they never clash with the call list's. */
export const COMPLAINT_FILTERS = ["c_status", "c_owner", "c_customer", "c_overdue"];

const BOOLEANS = new Set(["has_callback", "has_complaint", "c_overdue"]);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Read the URL into a plain state object; anything malformed is dropped, not guessed at. */
export function readState(search) {
  const params = new URLSearchParams(search);
  const state = { view: params.get("view") === "complaints" ? "complaints" : "calls", filters: {}, cfilters: {} };
  for (const key of CALL_FILTERS) {
    const value = clean(key, params.get(key));
    if (value !== null) state.filters[key] = value;
  }
  for (const key of COMPLAINT_FILTERS) {
    const value = clean(key, params.get(key));
    if (value !== null) state.cfilters[key] = value;
  }
  state.sort = SORTABLE.includes(params.get("sort")) ? params.get("sort") : DEFAULTS.sort;
  state.order = params.get("order") === "asc" ? "asc" : DEFAULTS.order;
  state.limit = PAGE_SIZES.includes(Number(params.get("limit"))) ? Number(params.get("limit")) : DEFAULTS.limit;
  state.offset = nonNegativeInt(params.get("offset")) ?? 0;
  state.coffset = nonNegativeInt(params.get("c_offset")) ?? 0;
  state.call = positiveInt(params.get("call"));
  state.complaint = positiveInt(params.get("complaint"));
  return state;
}

function clean(key, raw) {
  if (raw === null) return null;
  const value = raw.trim();
  if (!value) return null;
  if (BOOLEANS.has(key)) return value === "true" || value === "false" ? value : null;
  if (key === "since" || key === "until") return DATE.test(value) ? value : null;
  if (key === "score_min" || key === "score_max") {
    const number = Number(value);
    return Number.isFinite(number) && number >= 0 && number <= 100 ? String(number) : null;
  }
  if (key === "outcome") return OUTCOMES.includes(value) ? value : null;
  return value.slice(0, 200);
}

function nonNegativeInt(raw) {
  const number = Number(raw);
  return raw !== null && Number.isInteger(number) && number >= 0 ? number : null;
}

function positiveInt(raw) {
  const number = Number(raw);
  return raw !== null && Number.isInteger(number) && number > 0 ? number : null;
}

/** The state as a query string; defaults are left out so that shared URLs stay short. */
export function writeState(state) {
  const params = new URLSearchParams();
  if (state.view === "complaints") params.set("view", "complaints");
  for (const key of CALL_FILTERS) if (state.filters?.[key]) params.set(key, state.filters[key]);
  if (state.sort && state.sort !== DEFAULTS.sort) params.set("sort", state.sort);
  if (state.order && state.order !== DEFAULTS.order) params.set("order", state.order);
  if (state.limit && state.limit !== DEFAULTS.limit) params.set("limit", String(state.limit));
  if (state.offset) params.set("offset", String(state.offset));
  for (const key of COMPLAINT_FILTERS) if (state.cfilters?.[key]) params.set(key, state.cfilters[key]);
  if (state.coffset) params.set("c_offset", String(state.coffset));
  if (state.call) params.set("call", String(state.call));
  if (state.complaint) params.set("complaint", String(state.complaint));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * The API's query for the call list (and, without paging, for the CSV). Dates are the
 * reviewer's local days: "to 3 May" includes all of 3 May, so `until` is the next midnight.
 */
export function callQuery(state, { paged = true } = {}) {
  const params = new URLSearchParams();
  const f = state.filters || {};
  if (f.since) params.set("since", String(localMidnight(f.since)));
  if (f.until) params.set("until", String(localMidnight(f.until, 1)));
  for (const key of ["agent", "customer", "queue", "pbx", "outcome", "has_callback", "has_complaint", "disposition", "score_min", "score_max", "q"]) {
    if (f[key]) params.set(key, key === "agent" ? agentEndpoint(f[key]) : f[key]);
  }
  params.set("sort", state.sort || DEFAULTS.sort);
  params.set("order", state.order || DEFAULTS.order);
  if (paged) {
    params.set("limit", String(state.limit || DEFAULTS.limit));
    params.set("offset", String(state.offset || 0));
  }
  return params.toString();
}

/** "1001" is what people say; the PBX's name for it is PJSIP/1001. */
export function agentEndpoint(value) {
  return /^\d+$/.test(value) ? `PJSIP/${value}` : value;
}

function localMidnight(isoDate, plusDays = 0) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return Math.floor(new Date(y, m - 1, d + plusDays).getTime() / 1000);
}

export function complaintQuery(state, me) {
  const params = new URLSearchParams();
  const f = state.cfilters || {};
  if (f.c_status) params.set("status", f.c_status);
  if (f.c_owner) params.set("owner", f.c_owner === "me" ? me.username : f.c_owner);
  if (f.c_customer) params.set("customer", f.c_customer);
  if (f.c_overdue) params.set("overdue", f.c_overdue);
  params.set("limit", "100");
  params.set("offset", String(state.coffset || 0));
  return params.toString();
}

export function activeFilterCount(state) {
  return CALL_FILTERS.filter((key) => state.filters?.[key]).length;
}
