// How the IT board writes times, ages, levels and states: one way in every table and in the
// incident view, in the reader's language. Ages and "3 min ago" tick: elements carrying
// data-since (epoch seconds) are rewritten every second by tick().
import { h } from "/shared/dom.js";
import { t, language, formatDuration } from "/shared/i18n.js";

export const LEVELS = ["I", "II", "III", "IV"];
const DEFAULT_PBX = "default"; // a centre with one PBX never sees its name

/** Seconds since the epoch, as the server counts. */
export function now() {
  return Date.now() / 1000;
}

/** 14:03:07 today; 05/03 14:03 on another day. */
export function when(epochSeconds) {
  if (!epochSeconds) return "—";
  const date = new Date(epochSeconds * 1000);
  const sameDay = date.toDateString() === new Date().toDateString();
  const options = sameDay
    ? { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }
    : { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false };
  return new Intl.DateTimeFormat(language(), options).format(date);
}

/** 14:00 (an hour on the chart's axis). */
export function hour(epochSeconds) {
  return new Intl.DateTimeFormat(language(), { hour: "2-digit", minute: "2-digit", hour12: false })
    .format(new Date(epochSeconds * 1000));
}

/** "12 seconds ago", "3 minutes ago", "in 2 minutes", in the reader's language. */
export function relative(epochSeconds, at = now()) {
  if (!epochSeconds) return "—";
  const delta = epochSeconds - at;
  const size = Math.abs(delta);
  const format = new Intl.RelativeTimeFormat(language(), { numeric: "auto" });
  if (size < 45) return format.format(Math.round(delta), "second");
  if (size < 45 * 60) return format.format(Math.round(delta / 60), "minute");
  if (size < 22 * 3600) return format.format(Math.round(delta / 3600), "hour");
  return format.format(Math.round(delta / 86400), "day");
}

/** How long something has been going on: 0:42, 12:05, 1:02:03; days as "2 d 3:04:05". */
export function age(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86400);
  return days ? `${days} d ${formatDuration(total % 86400)}` : formatDuration(total);
}

/** A ticking age: "0:42" now and rewritten every second. */
export function ageNode(since, { className = "age" } = {}) {
  if (!since) return h("span", { class: className, text: "—" });
  return h("span", { class: className, dataset: { since: String(since), tick: "age" }, text: age(now() - since) });
}

/** A ticking "3 minutes ago", with the exact time on hover. */
export function relativeNode(at, { className = "ago" } = {}) {
  if (!at) return h("span", { class: `${className} muted`, text: "—" });
  return h("time", {
    class: className,
    dataset: { since: String(at), tick: "ago" },
    attrs: { datetime: new Date(at * 1000).toISOString(), title: when(at) },
    text: relative(at),
  });
}

/** Rewrite every ticking element under `root`. */
export function tick(root = document) {
  const at = now();
  for (const el of root.querySelectorAll("[data-tick]")) {
    const since = Number(el.dataset.since);
    if (!since) continue;
    const text = el.dataset.tick === "age" ? age(at - since) : relative(since, at);
    if (el.textContent !== text) el.textContent = text;
  }
}

/** The level badge: I red, II orange, III amber, IV grey. */
export function levelBadge(level) {
  const known = LEVELS.includes(level) ? level : "unknown";
  return h("span", {
    class: `level level-${known}`,
    attrs: { title: t(`it.level_hint.${level}`, {}, level), "data-level": level },
    text: level || "?",
  });
}

export function levelRank(level) {
  const index = LEVELS.indexOf(level);
  return index < 0 ? LEVELS.length : index;
}

/** The PBX a row is on, as a small tag; nothing on the default PBX, so a centre with one
 *  PBX sees no change. */
export function pbxTag(pbx) {
  if (!pbx || pbx === DEFAULT_PBX) return null;
  return h("span", {
    class: "badge pbx-tag",
    attrs: { title: t("it.pbx_hint", { pbx }), "data-pbx": pbx },
    text: t("it.pbx_tag", { pbx }),
  });
}

/** Where a fault is, in words: the location, and its PBX when it is not the default one
 *  (two PBXs may name a trunk alike). */
export function placeText(view) {
  if (!view.pbx || view.pbx === DEFAULT_PBX) return view.location;
  return t("it.place_on_pbx", { location: view.location, pbx: view.pbx });
}

/** A word of ours for a server value ("it.kind.trunk_down"), or the value itself, readable. */
export function word(group, value) {
  if (value === null || value === undefined || value === "") return "—";
  return t(`it.${group}.${value}`, {}, String(value).replaceAll("_", " "));
}

export function percent(dropped, calls) {
  if (!calls) return "—";
  const value = (100 * dropped) / calls;
  const digits = value > 0 && value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} %`;
}

export function milliseconds(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  const ms = Number(value);
  return t("it.ms", { ms: ms < 10 ? ms.toFixed(1) : Math.round(ms) });
}
