// After the call: choose a disposition, finish the notes, see what was collected, submit.
import { h, fill, kbd } from "/shared/dom.js";
import { t, formatDuration } from "/shared/i18n.js";

export const SUBMIT_KEY = "Ctrl+Enter";

export class WrapUpView {
  /** controller: {drafts, perform(callId, action)} */
  constructor(root, controller) {
    this.root = root;
    this.controller = controller;
    this.callId = null;
    this.sessionVersion = null;
    this.chosen = new Map(); // callId -> disposition id (kept across re-renders)
    this.submitting = false;
  }

  render({ model, callId, lang }) {
    const session = model.sessions.get(callId);
    if (!session) return;
    const fresh = callId !== this.callId || lang !== this.lang;
    if (!fresh && session.version === this.sessionVersion) return;
    const keepNotes = !fresh && document.activeElement === this.notes;
    const typedNotes = this.notes?.value;
    this.callId = callId;
    this.lang = lang;
    this.sessionVersion = session.version;
    this.session = session;
    if (!this.chosen.has(callId) && session.disposition) this.chosen.set(callId, session.disposition);
    this.build(model, session);
    if (keepNotes) {
      this.notes.value = typedNotes;
      this.notes.focus();
    } else if (fresh) {
      this.firstRadio()?.focus();
    }
  }

  build(model, session) {
    const callId = session.call_id;
    const consoleCall = model.consoleCalls.get(callId);
    const record = model.ended.get(callId) || {};
    const number = consoleCall?.caller?.number || record.customer || model.live.get(callId)?.customer || t("caller.withheld");
    const talk = record.talk_seconds ?? (record.ended_at && session.answered_at ? record.ended_at - session.answered_at : null);
    this.error = h("div", { class: "step-error", attrs: { role: "alert" } });
    this.notes = h("textarea", {
      id: "wrapup-notes",
      rows: 5,
      on: { input: () => this.controller.drafts.setNotes(callId, this.notes.value) },
    });
    this.notes.value = this.controller.drafts.notes(callId) ?? session.notes ?? "";
    this.submitButton = h("button", { type: "submit", class: "btn btn-primary btn-large" },
      h("span", { text: t("wrapup.submit") }), kbd("Ctrl+↵"));
    const form = h("form", { class: "wrapup-card", on: { submit: (event) => { event.preventDefault(); this.submit(); } } },
      h("div", { class: "wrapup-head" },
        h("h2", { text: t("wrapup.title") }),
        h("span", { class: "wrapup-number", text: number }),
        talk !== null && talk !== undefined ? h("span", { class: "muted", text: t("wrapup.talked", { time: formatDuration(talk) }) }) : null,
        (model.transfers.get(callId) || []).map((transfer) =>
          h("span", { class: "badge badge-transferred", text: t("wrapup.transferred", { target: transfer.target || "?" }) }))),
      h("fieldset", { class: "dispositions" },
        h("legend", { text: t("wrapup.disposition") }),
        (session.dispositions || []).map((d, index) => this.disposition(d, index))),
      h("label", { class: "field-label", attrs: { for: "wrapup-notes" }, text: t("wrapup.notes") }),
      this.notes,
      this.error,
      h("div", { class: "wrapup-actions" }, this.submitButton));
    fill(this.root, h("div", { class: "wrapup" }, form, summary(session, model.optionLabels)));
  }

  disposition(d, index) {
    const id = `disposition-${d.id}`;
    const radio = h("input", {
      type: "radio",
      name: "disposition",
      value: d.id,
      id,
      checked: this.chosen.get(this.callId) === d.id,
      on: { change: () => this.chosen.set(this.callId, d.id) },
    });
    return h("label", { class: "disposition", attrs: { for: id } },
      radio, h("span", { class: "disposition-label", text: d.label }), index < 9 ? kbd(`Alt+${index + 1}`) : null);
  }

  firstRadio() {
    return this.root.querySelector('input[name="disposition"]:checked') || this.root.querySelector('input[name="disposition"]');
  }

  /** Alt+1..9: choose the n-th disposition. */
  choose(n) {
    const radios = [...this.root.querySelectorAll('input[name="disposition"]')];
    const radio = radios[n - 1];
    if (!radio) return;
    radio.checked = true;
    radio.focus();
    this.chosen.set(this.callId, radio.value);
  }

  async submit() {
    if (this.submitting || !this.session) return;
    const disposition = this.chosen.get(this.callId);
    if (!disposition) {
      this.error.textContent = t("wrapup.choose_disposition");
      this.firstRadio()?.focus();
      return;
    }
    this.error.textContent = "";
    this.submitting = true;
    this.submitButton.disabled = true;
    try {
      await this.controller.perform(this.callId, { kind: "wrap_up", disposition, notes: this.notes.value });
    } finally {
      this.submitting = false;
      this.submitButton.disabled = false;
    }
  }

  showError(message) {
    if (this.error) this.error.textContent = message || "";
  }
}

function summary(session, optionLabels) {
  const labels = session.field_labels || {};
  const entries = Object.entries(session.fields || {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  return h("aside", { class: "wrapup-summary" },
    h("h2", { class: "panel-title", text: t("wrapup.summary") }),
    entries.length
      ? h("dl", { class: "summary-fields" }, entries.map(([name, value]) => [h("dt", { text: labels[name] || name }), h("dd", { text: shown(value, optionLabels.get(name)) })]))
      : h("p", { class: "muted", text: t("wrapup.no_fields") }),
    h("p", { class: "summary-line" }, t("wrapup.complaints", { n: session.complaints || 0 })),
    h("p", { class: "summary-line muted small", text: `${session.call_script?.title || ""}` }),
    h("ol", { class: "summary-steps" }, (session.history || []).map((e) => h("li", { text: e.title || e.step }))));
}

function shown(value, options) {
  if (options?.has(value)) return options.get(value);
  if (value === "yes") return t("field.yes");
  if (value === "no") return t("field.no");
  return String(value);
}
