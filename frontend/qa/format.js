// How the QA page writes times, durations, hang-up causes and people: the same way in every
// table and panel, in the reviewer's language.
import { t, language, formatDuration } from "/shared/i18n.js";

/** 05/03 14:03:07 in the reviewer's locale; the year only when it is not this year. */
export function formatDateTime(epochSeconds, { seconds = false } = {}) {
  if (!epochSeconds) return "—";
  const date = new Date(epochSeconds * 1000);
  const options = { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
  if (seconds) options.second = "2-digit";
  return new Intl.DateTimeFormat(language(), options).format(date);
}

/** The PBX a call was on, when there is something to say: the `default` PBX is the only one
 *  a single-PBX centre has, so its calls show no PBX at all (""). */
export function otherPbx(pbx) {
  return pbx && pbx !== "default" ? pbx : "";
}

export function formatTime(epochSeconds) {
  if (!epochSeconds) return "—";
  return new Intl.DateTimeFormat(language(), { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })
    .format(new Date(epochSeconds * 1000));
}

/** Seconds as m:ss; "—" when unknown (never "0:00" for a value the PBX did not report). */
export function seconds(value) {
  return value === null || value === undefined ? "—" : formatDuration(value);
}

/** A signed offset within the call or recording: +1:05, or −0:03 before it started. */
export function offset(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "";
  return `${value < 0 ? "−" : "+"}${formatDuration(Math.abs(value))}`;
}

/** "38 Network out of order" in the UI language; the server's words when we have none. */
export function causeWords(code, serverWords) {
  if (code === null || code === undefined) return serverWords || t("q850.none");
  const known = t(`q850.${code}`, {}, "");
  if (known) return `${code} ${known}`;
  return serverWords || String(code);
}

export function endedBy(value) {
  return value ? t(`ended_by.${value}`, {}, value) : "—";
}

/** 3 d 4 h, 5 h 20 min, 12 min: how long until (or since) a due date. */
export function span(secondsLeft) {
  const total = Math.max(0, Math.round(Math.abs(secondsLeft) / 60));
  const days = Math.floor(total / 1440);
  const hours = Math.floor((total % 1440) / 60);
  const minutes = total % 60;
  if (days) return t("dur.days", { n: days, h: hours });
  if (hours) return t("dur.hours", { n: hours, m: minutes });
  return t("dur.minutes", { n: minutes });
}

/** A score 0-100 as shown: one decimal only when it has one. */
export function score(value) {
  if (value === null || value === undefined) return "—";
  return Number.isInteger(value) ? String(value) : Number(value).toFixed(1);
}

export function scoreLevel(value) {
  if (value === null || value === undefined) return "none";
  if (value >= 80) return "good";
  if (value >= 60) return "fair";
  return "poor";
}

/** A field's name when the call script's label is not known: "customer_name" -> "Customer name". */
export function fieldName(name) {
  const words = String(name).replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
