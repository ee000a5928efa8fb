// Who is calling: the pop while the phone rings, and the caller panel beside the call
// script (earlier calls and their outcomes, open complaints, pending callbacks).
import { h } from "/shared/dom.js";
import { t, label, formatWhen, formatDuration } from "/shared/i18n.js";

const CONTENT_PREVIEW = 140;

/** The ringing pop: the number big, the name when earlier calls told us, then the history. */
export function renderPop(live, consoleCall, ringingSince, now, callback = null) {
  const caller = consoleCall?.caller || {};
  // A callback rings the agent first: the customer is only dialled once they answer.
  const number = caller.number || live?.customer || callback?.customer || t("caller.withheld");
  const ringing = ringingSince ? formatDuration(now - ringingSince) : "";
  return h("div", { class: "pop" },
    h("div", { class: "pop-card", attrs: { role: "alert", "aria-live": "assertive" } },
      h("div", { class: "pop-head" },
        h("span", { class: "pop-bell", attrs: { "aria-hidden": "true" } }, "☎"),
        h("span", { text: callback ? t("pop.callback") : t("pop.incoming") }),
        live?.queue ? h("span", { class: "tag", text: t("pop.queue", { queue: live.queue }) }) : null,
        ringing ? h("span", { class: "pop-ringing-for", dataset: { since: ringingSince, template: "pop.ringing_for" } }, t("pop.ringing_for", { time: ringing })) : null),
      h("div", { class: "pop-number", dataset: { test: "pop-number" }, text: number }),
      h("div", { class: "pop-name" }, caller.name
        ? [h("span", { text: caller.name }), h("span", { class: "muted", text: ` · ${t("caller.known")}` })]
        : h("span", { class: "muted", text: consoleCall ? t("caller.new") : t("common.loading") })),
      h("p", { class: "pop-hint", text: callback ? t("pop.callback_hint") : t("pop.answer_hint") })),
    consoleCall ? renderCallerHistory(caller) : null);
}

/** The caller panel beside the call script. */
export function renderCaller(consoleCall, live) {
  const caller = consoleCall?.caller || {};
  const number = caller.number || live?.customer || t("caller.withheld");
  return h("div", { class: "caller" },
    h("h2", { class: "panel-title", text: t("caller.title") }),
    h("div", { class: "caller-number", text: number }),
    h("div", { class: "caller-name" }, caller.name || h("span", { class: "muted", text: t("caller.new") })),
    renderCallerHistory(caller));
}

function renderCallerHistory(caller) {
  return h("div", { class: "caller-history" },
    section(t("caller.open_complaints"), caller.open_complaints, complaintItem, "complaints"),
    section(t("caller.pending_callbacks"), caller.pending_callbacks, callbackItem, "callbacks"),
    section(t("caller.last_calls"), caller.last_calls, lastCallItem, "last-calls"));
}

function section(title, items, render, name) {
  const list = items || [];
  return h("section", { class: `caller-section caller-${name}` },
    h("h3", {}, title, h("span", { class: "count", text: String(list.length) })),
    list.length
      ? h("ul", { class: "caller-list" }, list.map(render))
      : h("p", { class: "muted none", text: t("caller.none") }));
}

function lastCallItem(call) {
  const outcome = call.outcome || "unknown";
  return h("li", {},
    h("div", { class: "row" },
      h("span", { class: `badge outcome-${outcome}`, text: label("outcome", outcome) }),
      h("span", { class: "when", text: formatWhen(call.started_at) })),
    h("div", { class: "muted small" },
      [call.agent, call.disposition ? label("disposition", call.disposition) : null].filter(Boolean).join(" · ")));
}

function complaintItem(complaint) {
  const content = complaint.content || "";
  const preview = content.length > CONTENT_PREVIEW ? `${content.slice(0, CONTENT_PREVIEW)}…` : content;
  return h("li", {},
    h("div", { class: "row" },
      h("span", { class: `badge severity-${complaint.severity}`, text: label("severity", complaint.severity) }),
      h("span", { class: "strong", text: label("category", complaint.category) }),
      h("span", { class: "when", text: formatWhen(complaint.created_at) })),
    preview ? h("div", { class: "small", text: preview }) : null,
    h("div", { class: "muted small", text: `#${complaint.id} · ${label("status", complaint.status)}` }));
}

function callbackItem(callback) {
  return h("li", {},
    h("div", { class: "row" },
      h("span", { class: "badge badge-callback", text: label("status", callback.status) }),
      h("span", { class: "when", text: formatWhen(callback.created_at) })),
    h("div", { class: "small", text: label("reason", callback.reason) }));
}
