// The shift-start check (the centre's rule: lines and phones are checked before a shift):
// the agent's phone registered and reachable, the PBX link up, and the round trip from this
// browser, measured over the live link. The result is recorded by the server.
import { h, kbd } from "/shared/dom.js";
import { api } from "/shared/api.js";
import { t, formatClock } from "/shared/i18n.js";

const SLOW_RTT_MS = 300; // a round trip slower than this is worth a word (amber)
export const RECHECK_KEY = "Alt+K";

/** The last check on record (after a reload), or null when there is none. */
export async function latestShiftCheck() {
  try {
    return await api("/api/shift-checks/latest");
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

/** Measure the round trip, then POST /api/shift-checks with it. */
export async function runShiftCheck(live) {
  let rtt = await live.measureRtt();
  if (rtt === null) rtt = await httpRoundTrip();
  return api("/api/shift-checks", { method: "POST", body: { rtt_ms: rtt } });
}

/** Without a live link, the round trip of a small HTTP request is the next best figure. */
async function httpRoundTrip() {
  const started = performance.now();
  try {
    await fetch("/healthz", { cache: "no-store" });
  } catch {
    /* the check itself will say the link is down */
  }
  return Math.round(performance.now() - started);
}

const RED_CODES = new Set(["no_endpoint", "not_registered", "unreachable", "link_down"]);

/** green: all good; amber: works but something is unknown or slow; red: calls will fail. */
export function shiftLevel(result) {
  const codes = result.codes || [];
  if (codes.some((code) => RED_CODES.has(code)) || !result.link?.up) return "red";
  if (codes.length || !result.ok) return "amber";
  return "green";
}

/** The server's problem codes in the UI language; its own sentence for a code we lack. */
function problemTexts(result) {
  const codes = result.codes || [];
  if (!codes.length) return result.problems || [];
  return codes.map((code, index) => t(`problem.${code}`, {}, (result.problems || [])[index] || code));
}

function rowLevel(ok, unknown) {
  if (ok) return "green";
  return unknown ? "amber" : "red";
}

export function renderShiftCheck(state, onRecheck) {
  const { result, running, error } = state;
  const level = result ? shiftLevel(result) : running ? "pending" : "amber";
  const head = h("div", { class: "card-head" },
    h("h2", { text: t("shift.title") }),
    result ? h("span", { class: "muted small", text: t("shift.checked_at", { time: formatClock(result.checked_at) }) }) : null,
    h("button", { type: "button", class: "btn btn-small", disabled: running, on: { click: onRecheck } },
      h("span", { text: running ? t("shift.checking") : t("shift.again") }), kbd(RECHECK_KEY)));
  const body = [];
  if (running && !result) body.push(h("p", { class: "muted", text: t("shift.checking") }));
  if (error) body.push(h("p", { class: "shift-error", attrs: { role: "alert" }, text: error }));
  if (result) body.push(verdict(level), rows(result), problems(result));
  return h("section", { class: `card shift-card level-${level}`, dataset: { test: "shift-check" }, attrs: { "aria-busy": running ? "true" : null } }, head, body);
}

function verdict(level) {
  return h("p", { class: `shift-verdict level-${level}` },
    h("span", { class: "dot", attrs: { "aria-hidden": "true" } }), t(`shift.verdict_${level}`));
}

function rows(result) {
  const endpoint = result.endpoint || {};
  const phoneOk = Boolean(endpoint.name) && endpoint.registered !== false && endpoint.reachable === true;
  const phoneUnknown = Boolean(endpoint.name) && endpoint.registered !== false && endpoint.reachable == null;
  const phone = [
    !endpoint.name ? t("shift.no_phone") : endpoint.status ? t(`phone.${endpoint.status}`, {}, endpoint.status) : t("shift.unknown"),
    endpoint.registered === true ? t("shift.registered") : endpoint.registered === false ? t("shift.not_registered") : null,
    endpoint.roundtrip_ms != null ? t("shift.ms", { ms: Math.round(endpoint.roundtrip_ms) }) : null,
  ].filter(Boolean).join(" · ");
  const rtt = result.rtt_ms == null ? null : Math.round(result.rtt_ms);
  return h("dl", { class: "shift-rows" },
    row(t("shift.phone", { endpoint: endpoint.name || "" }), phone, rowLevel(phoneOk, phoneUnknown)),
    row(t("shift.link"), result.link?.up ? t("shift.link_up") : t("shift.link_down", { status: result.link?.status || "" }), rowLevel(result.link?.up, false)),
    row(t("shift.rtt"), rtt === null ? t("shift.unknown") : t("shift.ms", { ms: rtt }),
      rtt === null || rtt > SLOW_RTT_MS ? "amber" : "green"));
}

function row(name, value, level) {
  return h("div", { class: `shift-row level-${level}` },
    h("dt", {}, h("span", { class: "dot", attrs: { "aria-hidden": "true" } }), name),
    h("dd", { text: value }));
}

function problems(result) {
  const texts = problemTexts(result);
  if (!texts.length) return null;
  return h("div", { class: "shift-problems" },
    h("h3", { text: t("shift.problems") }),
    h("ul", {}, texts.map((text) => h("li", { text }))));
}
