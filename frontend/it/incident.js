// One incident: what was detected, where it stands, its timeline, and the moves the
// procedure allows now (acknowledge, progress, resolve, review). The server decides what is
// legal: its 409 (naming the allowed moves) or 422 is shown under the form that caused it.
import { h, fill } from "/shared/dom.js";
import { api, describeError, ApiError } from "/shared/api.js";
import { t } from "/shared/i18n.js";
import { ageNode, relativeNode, when, levelBadge, word, pbxTag } from "/it/format.js";

const ACTIVE = ["open", "acknowledged"];
// The procedure's moves per status, as the server's workflow table has them (progress comes
// from the owner, so after acknowledging). Only these are offered; the server still decides.
const MOVES = {
  open: ["acknowledge", "resolve"],
  acknowledged: ["progress", "resolve"],
  resolved: ["review"],
  reviewed: [],
};

export class IncidentView {
  constructor(root, board) {
    this.root = root;
    this.board = board;
    this.id = null;
    this.view = null; // the incident with its timeline
    this.error = null;
    this.loading = null;
    this.busy = null; // the action being sent
    this.formErrors = {}; // action -> message
    this.done = null; // action -> "Acknowledged." after success
    this.drafts = {}; // what was typed, kept across re-renders
  }

  isOpen() {
    return this.id !== null;
  }

  async open(id) {
    if (this.id !== id) {
      this.formErrors = {};
      this.drafts = {};
      this.done = null;
      this.view = null;
    }
    this.id = id;
    this.error = null;
    this.root.hidden = false;
    document.body.classList.add("incident-open");
    this.render();
    await this.load();
  }

  close() {
    this.id = null;
    this.view = null;
    this.root.hidden = true;
    document.body.classList.remove("incident-open");
    this.board.incidents.render();
  }

  async load() {
    const id = this.id;
    if (id === null) return;
    if (this.loading) this.loading.abort();
    const controller = new AbortController();
    this.loading = controller;
    try {
      const view = await api(`/api/incidents/${encodeURIComponent(id)}`, { signal: controller.signal });
      if (id !== this.id) return;
      this.view = view;
      this.error = null;
    } catch (error) {
      if (error && error.name === "AbortError") return;
      this.error = error;
    } finally {
      if (controller === this.loading) this.loading = null;
    }
    this.render();
  }

  /** A live incident.* message about the incident on screen: fetch its new timeline. */
  changed(view) {
    if (!this.isOpen() || view.id !== this.id) return;
    this.view = { ...(this.view || {}), ...view, timeline: this.view?.timeline || [] };
    this.render();
    this.load();
  }

  async act(action, body) {
    if (this.busy) return;
    this.busy = action;
    this.formErrors = { ...this.formErrors, [action]: null };
    this.done = null;
    this.render();
    try {
      const view = await api(`/api/incidents/${encodeURIComponent(this.id)}/${action}`, { method: "POST", body });
      this.view = view;
      this.drafts = {};
      this.formErrors = {};
      this.done = action;
      this.board.incidents.upsert(view);
    } catch (error) {
      this.formErrors = { ...this.formErrors, [action]: explain(error) };
      if (error instanceof ApiError && error.status === 409) this.load(); // someone else moved it
    } finally {
      this.busy = null;
    }
    this.render();
  }

  // --- rendering ---------------------------------------------------------------------------

  render() {
    if (!this.isOpen()) return;
    const focused = document.activeElement && this.root.contains(document.activeElement) ? document.activeElement.dataset.field : null;
    const view = this.view;
    const close = h("button", {
      type: "button",
      class: "drawer-close",
      text: "×",
      attrs: { "aria-label": t("it.view.close"), title: t("it.view.close"), "data-test": "close-incident" },
      on: { click: () => this.close() },
    });
    if (!view) {
      fill(this.root, h("div", { class: "drawer-head" }, h("h2", { text: t("it.view.title", { id: this.id }) }), close),
        h("p", { class: this.error ? "error-text drawer-body" : "muted drawer-body", text: this.error ? describeError(this.error) : t("it.view.loading") }));
      return;
    }
    this.root.dataset.status = view.status;
    this.root.dataset.id = String(view.id);
    fill(this.root,
      h("div", { class: `drawer-head level-head-${view.level}` },
        levelBadge(view.level),
        h("div", { class: "drawer-title" },
          h("h2", {}, word("kind", view.kind), h("span", { class: "drawer-location", text: view.location }), pbxTag(view.pbx)),
          h("div", { class: "drawer-sub" },
            h("span", { class: "muted", text: t("it.view.title", { id: view.id }) }),
            h("span", { class: `badge istatus istatus-${view.status}`, attrs: { "data-test": "incident-status" }, text: word("status", view.status) }),
            ACTIVE.includes(view.status) ? h("span", { class: "drawer-age" }, h("span", { class: "muted", text: `${t("it.view.age")} ` }), ageNode(view.opened_at)) : null)),
        close),
      h("div", { class: "drawer-body" },
        this.error ? h("p", { class: "error-text", text: describeError(this.error) }) : null,
        view.summary ? h("p", { class: "incident-summary", text: view.summary }) : null,
        this.renderFacts(view),
        this.renderActions(view),
        this.renderTimeline(view)));
    if (focused) this.root.querySelector(`[data-field="${focused}"]`)?.focus();
  }

  renderFacts(view) {
    const fact = (key, value, { cls = "" } = {}) => (value === null || value === undefined || value === "" ? null
      : h("div", { class: `fact ${cls}` }, h("dt", { text: t(`it.view.${key}`) }), h("dd", {}, value)));
    const at = (epoch) => (epoch ? h("span", {}, when(epoch), " · ", relativeNode(epoch)) : null);
    return h("dl", { class: "facts" },
      view.pbx && view.pbx !== "default" ? fact("pbx", view.pbx) : null,
      fact("opened_at", at(view.opened_at)),
      fact("owner", view.owner || t("it.owner.none"), { cls: view.owner ? "" : "fact-muted" }),
      fact("signals", String(view.signals ?? 1)),
      view.signals > 1 ? fact("last_signal_at", at(view.last_signal_at)) : null,
      fact("acknowledged_at", at(view.acknowledged_at)),
      fact("last_progress_at", at(view.last_progress_at)),
      fact("recovered_at", at(view.recovered_at), { cls: "fact-good" }),
      fact("resolved_at", at(view.resolved_at)),
      fact("cause", view.cause, { cls: "fact-wide" }),
      fact("reviewed_at", at(view.reviewed_at)),
      fact("review_summary", view.review_summary, { cls: "fact-wide" }),
      fact("review_actions", view.review_actions, { cls: "fact-wide" }));
  }

  renderActions(view) {
    const moves = MOVES[view.status] || [];
    const parts = [];
    if (view.recovered_at && ACTIVE.includes(view.status)) parts.push(h("p", { class: "note-good", text: t("it.view.recovered_note") }));
    if (moves.includes("acknowledge")) {
      parts.push(h("div", { class: "act act-acknowledge" },
        h("button", {
          type: "button",
          class: "btn btn-primary",
          disabled: Boolean(this.busy),
          attrs: { "data-action": "acknowledge" },
          text: this.busy === "acknowledge" ? t("it.act.busy") : t("it.act.acknowledge"),
          on: { click: () => this.act("acknowledge", {}) },
        }),
        h("span", { class: "muted small", text: t("it.act.acknowledge_hint") }),
        this.errorOf("acknowledge")));
    }
    if (moves.includes("progress")) {
      parts.push(this.form("progress", [{ name: "note", label: "it.act.progress_label", placeholder: "it.act.progress_placeholder" }]));
    }
    if (moves.includes("resolve")) {
      parts.push(this.form("resolve", [{ name: "cause", label: "it.act.resolve_label", placeholder: "it.act.resolve_placeholder" }]));
    }
    if (moves.includes("review")) {
      parts.push(this.form("review", [
        { name: "summary", label: "it.act.review_summary_label", placeholder: "it.act.review_summary_placeholder" },
        { name: "actions", label: "it.act.review_actions_label", placeholder: "it.act.review_actions_placeholder" },
      ]));
    }
    if (!moves.length) parts.push(h("p", { class: "muted", text: t("it.view.done") }));
    const done = this.done ? h("p", { class: "act-done", attrs: { role: "status" }, text: t(`it.act.done.${this.done}`) }) : null;
    return h("section", { class: "drawer-section actions" }, h("h3", { text: t("it.view.actions") }), done, parts);
  }

  /** A small form whose fields are kept in `drafts` while the view re-renders. */
  form(action, fields) {
    const inputs = fields.map((field) => {
      const key = `${action}.${field.name}`;
      const id = `act-${action}-${field.name}`;
      const area = h("textarea", {
        id,
        name: field.name,
        rows: 2,
        value: this.drafts[key] || "",
        dataset: { field: key },
        attrs: { placeholder: t(field.placeholder) },
        on: { input: (event) => { this.drafts[key] = event.target.value; } },
      });
      return h("label", { class: "act-field", attrs: { for: id } }, h("span", { class: "act-label", text: t(field.label) }), area);
    });
    const submit = h("button", {
      type: "submit",
      class: action === "progress" ? "btn btn-accent" : "btn btn-primary",
      disabled: Boolean(this.busy),
      attrs: { "data-action": action },
      text: this.busy === action ? t("it.act.busy") : t(`it.act.${action}`),
    });
    return h("form", {
      class: `act act-form act-${action}`,
      attrs: { "data-form": action, novalidate: true },
      on: {
        submit: (event) => {
          event.preventDefault();
          const body = {};
          for (const field of fields) body[field.name] = (this.drafts[`${action}.${field.name}`] || "").trim();
          this.act(action, body);
        },
      },
    }, h("div", { class: "act-fields" }, inputs), h("div", { class: "act-submit" }, submit), this.errorOf(action));
  }

  errorOf(action) {
    const message = this.formErrors[action];
    return h("p", { class: "form-error", attrs: { role: "alert", "data-error": action }, hidden: !message, text: message || "" });
  }

  renderTimeline(view) {
    const entries = [...(view.timeline || [])].sort((a, b) => (a.at || 0) - (b.at || 0));
    return h("section", { class: "drawer-section" },
      h("h3", { text: t("it.view.timeline") }),
      entries.length
        ? h("ol", { class: "incident-timeline", attrs: { "data-test": "timeline" } }, entries.map((entry) => h("li", {
          class: `tl tl-${entry.kind}`,
          dataset: { kind: entry.kind },
        },
        h("span", { class: "tl-mark", attrs: { "aria-hidden": "true" } }),
        h("time", { class: "tl-time", attrs: { datetime: entry.at ? new Date(entry.at * 1000).toISOString() : "" }, text: when(entry.at) }),
        h("div", { class: "tl-body" },
          h("span", { class: "tl-kind", text: word("tl", entry.kind) }),
          entry.user ? h("span", { class: "tl-user", text: ` · ${entry.user}` }) : null,
          entry.note ? h("div", { class: "tl-note", text: entry.note }) : null,
          detailText(entry.detail) ? h("div", { class: "tl-detail muted", text: detailText(entry.detail) }) : null))))
        : h("p", { class: "muted", text: t("it.tl.empty") }));
  }
}

/** "409: review needs a resolved incident (allowed: acknowledge, progress, resolve)". */
function explain(error) {
  if (error instanceof ApiError && (error.status === 409 || error.status === 422)) {
    const raw = error.body && typeof error.body === "object" ? error.body.detail : null;
    const words = error.detail
      || (raw && typeof raw === "object" ? raw.message || raw.detail || JSON.stringify(raw) : "")
      || describeError(error);
    const allowed = error.body && Array.isArray(error.body.allowed) ? error.body.allowed : null;
    const moves = allowed ? ` (${t("it.act.allowed", { moves: allowed.map((move) => word("move", move)).join(", ") || "—" })})` : "";
    return `${error.status}: ${words}${moves}`;
  }
  return describeError(error);
}

function detailText(detail) {
  if (detail === null || detail === undefined || detail === "") return "";
  if (typeof detail !== "object") return String(detail);
  const pairs = Object.entries(detail).filter(([, value]) => value !== null && value !== undefined && value !== "");
  return pairs.map(([key, value]) => `${key.replaceAll("_", " ")}: ${detailValue(value)}`).join(" · ");
}

/** What an incident said before a signal changed it reads as its summary and level. */
function detailValue(value) {
  if (typeof value !== "object") return value;
  if (value.summary) return `${value.summary} (${t("it.level", { level: value.level })})`;
  return JSON.stringify(value);
}
