// One call's story in order: the PBX's events (ringing, answered, hold, transfer, hang-up)
// with the callbacks and complaints that came of it, each in a sentence. Pure: detail in,
// entries out, so the view only draws them.
import { t, label, formatDuration } from "/shared/i18n.js";
import { causeWords } from "/qa/format.js";

/** [{key, kind, at, text, tone}] sorted by time; entries without a time go last. */
export function timelineEntries(detail) {
  const events = detail.timeline || [];
  const entries = events.map((event, index) => fromEvent(event, index, events));
  for (const callback of detail.callbacks || []) {
    entries.push({
      key: `callback:${callback.id}`,
      kind: "callback",
      at: callback.created_at,
      text: t("timeline.callback", { reason: label("reason", callback.reason), status: label("status", callback.status) }),
      tone: "info",
    });
  }
  for (const complaint of detail.complaints || []) {
    entries.push({
      key: `complaint:${complaint.id}`,
      kind: "complaint",
      at: complaint.created_at,
      text: t("timeline.complaint", { category: label("category", complaint.category), severity: label("severity", complaint.severity) }),
      tone: "warn",
      complaint: complaint.id,
    });
  }
  return entries
    .map((entry, order) => ({ ...entry, order }))
    .sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity) || a.order - b.order);
}

function fromEvent(event, index, events) {
  const d = event.detail || {};
  const endpoint = event.endpoint || "—";
  const base = { key: `event:${index}`, kind: event.kind, at: event.at, tone: "" };
  switch (event.kind) {
    case "ringing":
      return { ...base, text: d.queue ? t("timeline.ringing_queue", { endpoint, queue: d.queue }) : t("timeline.ringing", { endpoint }) };
    case "answered":
      return { ...base, tone: "good", text: t("timeline.answered", { endpoint }) };
    case "hold": {
      const held = holdSeconds(event, index, events);
      return { ...base, tone: "hold", text: held === null ? t("timeline.hold", { endpoint }) : t("timeline.hold_for", { endpoint, time: formatDuration(held) }) };
    }
    case "unhold":
      return { ...base, text: t("timeline.unhold", { endpoint }) };
    case "transferred":
      return { ...base, tone: "info", text: t("timeline.transferred", { kind: t(`transfer.${d.kind}`, {}, d.kind || "?"), target: d.target || endpoint }) };
    case "pop_missed":
      return { ...base, tone: "warn", text: t("timeline.pop_missed", { endpoint, reason: d.reason || "?" }) };
    case "ended":
      return { ...base, ...ended(d) };
    default:
      return { ...base, text: `${event.kind}${event.endpoint ? ` · ${event.endpoint}` : ""}` };
  }
}

/** The hang-up: the Q.850 cause in words, and who ended it. */
function ended(d) {
  if (d.ended_in_gap && d.hangup_cause === undefined) return { tone: "warn", text: t("timeline.ended_gap"), who: endedSentence(d.ended_by) };
  const cause = causeWords(d.hangup_cause, d.cause);
  const tone = d.outcome === "dropped" || d.outcome === "failed" ? "bad" : "";
  return {
    tone,
    text: t("timeline.ended", { cause }),
    who: endedSentence(d.ended_by),
    extra: d.drop_reason || "",
  };
}

export function endedSentence(endedBy) {
  return t(`ended_by.sentence_${endedBy || "unknown"}`, {}, endedBy || "");
}

/** How long this hold lasted: until the same endpoint's next unhold, if there is one. */
function holdSeconds(event, index, events) {
  if (event.at === null || event.at === undefined) return null;
  for (const later of events.slice(index + 1)) {
    if (later.kind === "unhold" && later.endpoint === event.endpoint && later.at !== null && later.at !== undefined) {
      return Math.max(0, later.at - event.at);
    }
  }
  return null;
}
