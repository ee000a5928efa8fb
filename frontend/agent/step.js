// The current call-script step: its prompt in large text, its fields, its look-up notes,
// checklist or transfer target, and the way on (next/back). Rebuilt only when the step
// changes, patched otherwise, so the field being typed in keeps its focus and caret.
import { h, fill, kbd } from "/shared/dom.js";
import { t, label } from "/shared/i18n.js";
import { FieldView } from "/agent/fields.js";

export const KEYS = { next: "Enter", back: "Alt+Backspace", refer: "Alt+R", notes: "Alt+N" };

export class StepView {
  /** actions: {fieldChanged(name, value), next(), back(), refer()} */
  constructor(actions) {
    this.actions = actions;
    this.key = null;
    this.fields = [];
    this.el = h("div", { class: "step-card" });
  }

  /** drafts: (name) => typed value not yet confirmed, or undefined. */
  render(session, drafts) {
    const step = session.step;
    const key = `${session.id}:${step.id}:${session.history?.length ?? 0}`;
    if (key !== this.key) this.build(session, drafts, key);
    else this.patch(session, drafts);
  }

  build(session, drafts, key) {
    const hadFocus = this.el.contains(document.activeElement);
    const step = session.step;
    this.key = key;
    this.el.className = `step-card kind-${step.kind}`;
    this.fields = (step.fields || []).map((field) => {
      const draft = drafts(field.name);
      const view = new FieldView(draft === undefined ? field : { ...field, value: draft, error: null },
        { onChange: (name, value) => this.actions.fieldChanged(name, value) });
      if (draft !== undefined) view.validate({ force: true });
      return view;
    });
    this.prompt = h("p", { class: "prompt", lang: session.call_script?.language || undefined, dataset: { test: "prompt" } });
    this.error = h("div", { class: "step-error", attrs: { role: "alert" } });
    this.backButton = h("button", { type: "button", class: "btn", on: { click: () => this.actions.back() } },
      h("span", { text: `← ${t("step.back")}` }), kbd("Alt+⌫"));
    this.nextButton = h("button", { type: "button", class: "btn btn-primary", on: { click: () => this.actions.next() } },
      h("span", { class: "next-label" }), kbd("↵"));
    fill(this.el,
      h("div", { class: "step-head" },
        sameWords(label("kind", step.kind), step.title) ? null : h("span", { class: `badge kind kind-${step.kind}`, text: label("kind", step.kind) }),
        h("h2", { class: "step-title", text: step.title }),
        h("span", { class: "step-number", text: t("step.number", { n: stepNumber(session) }) })),
      this.prompt,
      this.fields.length ? h("div", { class: "step-fields" }, this.fields.map((f) => f.el)) : null,
      lookupNotes(step),
      checklist(step),
      this.transfer(step),
      this.error,
      h("div", { class: "step-nav" }, this.backButton, this.nextButton));
    this.patch(session, drafts);
    if (hadFocus || document.activeElement === document.body) this.focusFirst();
  }

  patch(session, drafts) {
    const step = session.step;
    this.prompt.textContent = step.prompt;
    for (const view of this.fields) {
      const field = (step.fields || []).find((f) => f.name === view.field.name);
      if (!field) continue;
      const typing = view.contains(document.activeElement) && drafts(field.name) !== undefined;
      view.update(field, { keepValue: typing || drafts(field.name) !== undefined });
    }
    this.backButton.disabled = !step.can_back;
    this.el.querySelector(".next-label").textContent = step.is_last ? t("step.finish") : `${t("step.next")} →`;
  }

  transfer(step) {
    if (!step.transfer) return null;
    const { target, department } = step.transfer;
    return h("div", { class: "step-transfer" },
      h("span", {}, t("step.transfer_to"), " ", h("strong", { text: department || target }), target ? ` (${target})` : ""),
      h("button", { type: "button", class: "btn btn-accent", on: { click: () => this.actions.refer() } },
        h("span", { text: t("step.refer", { department: department || target }) }), kbd(KEYS.refer)));
  }

  /** Values of this step's fields to send with `next`; null (and errors shown) if any fails. */
  values() {
    let firstBad = null;
    const values = {};
    for (const view of this.fields) {
      if (!view.validate({ force: true }) && !firstBad) firstBad = view;
      values[view.field.name] = view.value;
    }
    if (firstBad) {
      firstBad.focus();
      this.showError(t("step.fix_fields"));
      return null;
    }
    return values;
  }

  showError(message, errors = {}) {
    this.error.classList.remove("step-info");
    this.error.textContent = message || "";
    for (const view of this.fields) {
      if (errors[view.field.name]) view.showProblem({ text: errors[view.field.name] });
    }
  }

  showInfo(message) {
    this.error.classList.add("step-info");
    this.error.textContent = message;
  }

  focusFirst() {
    const first = this.fields[0];
    if (first) first.focus();
    else this.nextButton.focus();
  }
}

function sameWords(a, b) {
  return String(a).trim().toLowerCase() === String(b).trim().toLowerCase();
}

function stepNumber(session) {
  return (session.history?.length ?? 0) || 1;
}

function lookupNotes(step) {
  if (!step.notes?.length) return null;
  return h("div", { class: "step-notes" },
    h("h3", { text: t(step.kind === "lookup" ? "step.lookup" : "step.tips") }),
    h("ul", {}, step.notes.map((note) => h("li", { text: note }))));
}

function checklist(step) {
  if (!step.checklist?.length) return null;
  return h("div", { class: "step-checklist" },
    h("h3", { text: t("step.checklist") }),
    h("ol", {}, step.checklist.map((item, index) => {
      const id = `check-${step.id}-${index}`;
      return h("li", {}, h("input", { type: "checkbox", id }), h("label", { attrs: { for: id }, text: item }));
    })));
}

/** The call script's branches as buttons, each with its Alt+key. */
export function renderBranches(session, onBranch) {
  return h("div", { class: "branches", attrs: { role: "toolbar", "aria-label": t("branch.title") } },
    h("span", { class: "branches-label", text: t("branch.title") }),
    (session.branches || []).map((branch) =>
      h("button", {
        type: "button",
        class: `btn btn-branch branch-${branch.kind}`,
        disabled: !branch.available,
        dataset: { branch: branch.id },
        attrs: { title: branch.available ? null : t("branch.unavailable"), "aria-keyshortcuts": branch.key ? `Alt+${branch.key.toUpperCase()}` : null },
        on: { click: () => onBranch(branch.id) },
      }, h("span", { text: branch.label }), branch.key ? kbd(`Alt+${branch.key.toUpperCase()}`) : null)));
}
