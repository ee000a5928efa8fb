// Where the call has been: the steps visited so far, with the time spent on each (the same
// step times QA sees), the current one marked.
import { h } from "/shared/dom.js";
import { t, formatDuration } from "/shared/i18n.js";

export function renderProgress(session, now) {
  const history = session.history || [];
  return h("div", { class: "progress" },
    h("h2", { class: "panel-title", text: t("progress.title") }),
    h("ol", { class: "progress-list" }, history.map((entry, index) => {
      const current = entry.left_at === null || entry.left_at === undefined;
      const seconds = (current ? now : entry.left_at) - entry.entered_at;
      return h("li", { class: current ? "current" : "done", attrs: { "aria-current": current ? "step" : null } },
        h("span", { class: "progress-mark", attrs: { "aria-hidden": "true" } }, current ? "▶" : "✓"),
        h("span", { class: "progress-title", text: entry.title || entry.step }),
        h("span", { class: "progress-time", dataset: current ? { since: entry.entered_at } : {}, text: formatDuration(seconds) }));
    })));
}

/** Update the running clocks in place (data-since) once a second. */
export function tickClocks(root, now) {
  for (const el of root.querySelectorAll("[data-since]")) {
    const since = Number(el.dataset.since);
    if (!Number.isFinite(since)) continue;
    const text = formatDuration(now - since);
    const template = el.dataset.template;
    el.textContent = template ? t(template, { time: text }) : text;
  }
}
