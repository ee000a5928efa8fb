// One call-script field as an input the agent fills while talking, with its rule checked
// as they type (the message appears under the field, in the UI language).
import { h } from "/shared/dom.js";
import { t } from "/shared/i18n.js";
import { fieldProblem, isoToday } from "/agent/validate.js";

const LONG_TEXT = 160; // longer (or unlimited) text gets a multi-line box
const MAX_BUTTON_OPTIONS = 6; // more options than this: a drop-down
let serial = 0;

export class FieldView {
  constructor(field, { onChange }) {
    this.field = field;
    this.onChange = onChange;
    this.touched = false;
    this.id = `field-${field.name}-${++serial}`;
    this.error = h("div", { class: "field-error", id: `${this.id}-error`, attrs: { "aria-live": "polite" } });
    this.hint = h("div", { class: "field-hint", id: `${this.id}-hint` });
    this.control = this.buildControl();
    const required = field.required
      ? h("span", { class: "required", attrs: { title: t("field.required_mark") } }, "*")
      : null;
    const labelTag = this.isGroup ? "span" : "label";
    this.label = h(labelTag, { class: "field-label", id: `${this.id}-label`, attrs: this.isGroup ? {} : { for: this.id } },
      field.label, required);
    const wide = this.isGroup && this.options().length > 3; // a row of chips: the full width
    this.el = h("div", { class: `field field-${field.type}${wide ? " field-wide" : ""}`, dataset: { field: field.name } },
      this.label, this.control, this.hint, this.error);
    this.setValue(field.value);
    this.renderHint();
    this.showProblem(field.error ? { text: field.error } : null);
  }

  get isGroup() {
    return this.field.type === "yes_no" || (this.field.type === "choice" && this.options().length <= MAX_BUTTON_OPTIONS);
  }

  options() {
    if (this.field.type === "yes_no") {
      return [{ id: "yes", label: t("field.yes") }, { id: "no", label: t("field.no") }];
    }
    return this.field.options || [];
  }

  buildControl() {
    const f = this.field;
    const described = `${this.id}-hint ${this.id}-error`;
    const changed = () => this.changed();
    if (this.isGroup) return this.buildRadios(described);
    if (f.type === "choice") {
      const select = h("select", { id: this.id, name: f.name, attrs: { "aria-describedby": described }, on: { change: changed } },
        h("option", { value: "", text: t("field.choose_placeholder") }),
        this.options().map((o) => h("option", { value: o.id, text: o.label })));
      this.input = select;
      return select;
    }
    const long = f.type === "text" && (!f.max_length || f.max_length > LONG_TEXT);
    const attrs = { "aria-describedby": described, autocomplete: "off", spellcheck: "false" };
    if (f.type === "date") {
      attrs.min = f.not_before && (f.not_before === "today" ? isoToday() : f.not_before);
      attrs.max = f.not_after && (f.not_after === "today" ? isoToday() : f.not_after);
    }
    if (f.type === "phone") attrs.inputmode = "tel";
    const input = long
      ? h("textarea", { id: this.id, name: f.name, rows: 3, attrs })
      : h("input", { id: this.id, name: f.name, type: { phone: "tel", date: "date" }[f.type] || "text", attrs });
    input.addEventListener("input", changed);
    input.addEventListener("blur", () => {
      // An empty field is not an error yet: the agent fills fields in the order the
      // customer talks. "Required" shows when they try to move on.
      if (this.value.trim()) this.touched = true;
      this.validate();
    });
    this.input = input;
    return input;
  }

  buildRadios(described) {
    const group = `${this.id}-group`;
    const buttons = this.options().map((option, index) => {
      const radio = h("input", {
        type: "radio",
        name: group,
        value: option.id,
        id: `${this.id}-${index}`,
        on: { change: () => this.changed() },
      });
      return h("label", { class: "choice", attrs: { for: `${this.id}-${index}` } }, radio, h("span", { text: option.label }));
    });
    this.radios = () => [...this.el.querySelectorAll(`input[name="${group}"]`)];
    return h("div", {
      class: "choices",
      id: this.id,
      attrs: { role: "radiogroup", "aria-labelledby": `${this.id}-label`, "aria-describedby": described },
    }, buttons);
  }

  get value() {
    if (this.radios) {
      const chosen = this.radios().find((r) => r.checked);
      return chosen ? chosen.value : "";
    }
    return this.input.value;
  }

  setValue(value) {
    const text = value === null || value === undefined ? "" : String(value);
    if (this.radios) {
      const radios = this.el ? this.radios() : [];
      for (const radio of radios) radio.checked = radio.value === text;
      return;
    }
    if (this.input.value !== text) this.input.value = text;
  }

  /** The server's view of this field; our own value wins while the agent is editing it. */
  update(field, { keepValue }) {
    this.field = { ...this.field, ...field };
    if (keepValue) return;
    this.setValue(field.value);
    // Our own message is in the agent's language; the server's is the fallback.
    const local = this.problem();
    if (local && (this.touched || field.error)) this.showProblem(local);
    else this.showProblem(field.error ? { text: field.error } : null);
  }

  changed() {
    if (this.value.trim() || this.radios) this.touched = true;
    this.validate();
    this.onChange(this.field.name, this.value);
  }

  problem() {
    return fieldProblem(this.field, this.value);
  }

  /** Check the current value and show the outcome; returns true when it is acceptable. */
  validate({ force = false } = {}) {
    if (force) this.touched = true;
    const problem = this.problem();
    this.showProblem(this.touched ? problem : null);
    return problem === null;
  }

  showProblem(problem) {
    const text = problem ? problem.text || t(problem.key, problem.params) : "";
    this.error.textContent = text;
    this.el?.classList.toggle("invalid", Boolean(text));
    const target = this.radios ? this.control : this.input;
    if (text) target.setAttribute("aria-invalid", "true");
    else target.removeAttribute("aria-invalid");
  }

  renderHint() {
    const f = this.field;
    const parts = [];
    if (f.type === "text" && f.pattern_hint) parts.push(f.pattern_hint);
    if (f.type === "phone") parts.push(t("field.phone_hint"));
    if (f.type === "date" && f.not_after === "today") parts.push(t("field.not_future_hint"));
    this.hint.textContent = parts.join(" · ");
    this.hint.hidden = parts.length === 0;
  }

  focus() {
    if (this.radios) {
      const radios = this.radios();
      (radios.find((r) => r.checked) || radios[0])?.focus();
    } else {
      this.input.focus();
    }
  }

  contains(node) {
    return this.el.contains(node);
  }
}
