// The manual scorecard: the criteria (GET /api/scorecard), the current scores with who gave
// them and when, a form to score (PUT /api/calls/{id}/scores: only what changed is sent, so
// an untouched criterion keeps its row and its history stays honest), and the history.
import { h } from "/shared/dom.js";
import { api, reportError } from "/shared/api.js";
import { t, language } from "/shared/i18n.js";
import { formatDateTime, score } from "/qa/format.js";

const BUTTONS_UP_TO = 10; // a max above this gets a number box instead of buttons

export class Scorecard {
  constructor(review, onSaved) {
    this.review = review;
    this.onSaved = onSaved;
    this.criteria = null;
    this.loading = null;
    this.drafts = new Map(); // call pk -> {criterion: {value, comment}}: survives a re-render
  }

  /** The scorecard's criteria, once per page load (the detail carries them too). */
  loadCriteria() {
    if (this.criteria) return Promise.resolve(this.criteria);
    if (!this.loading) {
      this.loading = api("/api/scorecard")
        .then((reply) => {
          this.criteria = reply.criteria || [];
          this.title = reply.title;
          return this.criteria;
        })
        .catch(() => {
          this.loading = null; // the detail's criteria will do; try again next call
          return null;
        });
    }
    return this.loading;
  }

  criteriaOf(detail) {
    return (detail.scores && detail.scores.criteria && detail.scores.criteria.length ? detail.scores.criteria : this.criteria) || [];
  }

  render(detail) {
    this.detail = detail;
    const scores = detail.scores || { current: [], history: [], total: null };
    const criteria = this.criteriaOf(detail);
    const current = new Map((scores.current || []).map((s) => [s.criterion, s]));
    const draft = this.drafts.get(detail.id) || {};
    this.drafts.set(detail.id, draft);
    const canScore = this.review.canReview;
    const rows = criteria.map((criterion) => this.criterionRow(criterion, current.get(criterion.id), draft, canScore));
    const justSaved = this.savedAt && this.savedAt.id === detail.id && Date.now() - this.savedAt.at < 5000;
    this.status = h("span", { class: `score-status small${justSaved ? " saved" : " muted"}`, attrs: { role: "status", "aria-live": "polite" }, text: justSaved ? `✓ ${t("score.saved")}` : "" });
    this.saveButton = h("button", { type: "submit", class: "btn btn-primary btn-small", text: t("score.save"), disabled: !canScore || !criteria.length });
    const form = h("form", { class: "scorecard", attrs: { "data-test": "scorecard" }, on: { submit: (event) => this.save(event, criteria, current, draft) } },
      criteria.length ? h("div", { class: "criteria" }, rows) : h("p", { class: "muted", text: t("score.no_criteria") }),
      h("div", { class: "score-foot" },
        h("span", { class: "score-total" }, `${t("score.total")}: `,
          h("strong", { attrs: { "data-test": "score-total" }, text: scores.total === null || scores.total === undefined ? "—" : `${score(scores.total)} / 100` })),
        this.status,
        canScore ? this.saveButton : h("span", { class: "muted small", text: t("score.read_only") })));
    return h("section", { class: "card qa-card card-scorecard", attrs: { "data-card": "scorecard" } },
      h("h2", { class: "qa-card-title", text: `${t("score.title")}${this.title ? ` · ${this.title}` : ""}` }),
      form,
      this.historyBlock(scores.history || [], criteria));
  }

  criterionRow(criterion, current, draft, canScore) {
    const mine = draft[criterion.id] || {};
    const value = mine.value !== undefined ? mine.value : current ? current.value : null;
    const comment = mine.comment !== undefined ? mine.comment : current ? current.comment || "" : "";
    const name = `score-${criterion.id}`;
    const setValue = (v) => {
      draft[criterion.id] = { ...draft[criterion.id], value: v };
      row.classList.toggle("changed", this.changed(criterion.id, current, draft));
    };
    let picker;
    if (criterion.max <= BUTTONS_UP_TO) {
      picker = h("div", { class: "score-buttons", attrs: { role: "radiogroup", "aria-label": criterionLabel(criterion) } },
        Array.from({ length: criterion.max + 1 }, (_, n) => h("label", { class: "score-choice" },
          h("input", { type: "radio", name, value: String(n), checked: value === n, disabled: !canScore, on: { change: () => setValue(n) } }),
          h("span", { text: String(n) }))));
    } else {
      picker = h("input", {
        type: "number", name, value: value === null ? "" : String(value), disabled: !canScore,
        attrs: { min: 0, max: criterion.max, step: 1, placeholder: `0–${criterion.max}`, "aria-label": criterionLabel(criterion) },
        on: { input: (e) => setValue(e.target.value === "" ? null : Number(e.target.value)) },
      });
    }
    const row = h("div", { class: "criterion", dataset: { criterion: criterion.id } },
      h("div", { class: "criterion-head" },
        h("span", { class: "criterion-label", text: criterionLabel(criterion) }),
        h("span", { class: "criterion-max muted small", text: `/ ${criterion.max}` }),
        current ? h("span", { class: "criterion-by muted small", text: t("score.by", { user: current.scored_by, when: formatDateTime(current.scored_at) }) }) : null),
      criterion.description ? h("p", { class: "criterion-description muted small", text: criterion.description }) : null,
      h("div", { class: "criterion-input" }, picker,
        h("input", {
          type: "text", class: "criterion-comment", name: `${name}-comment`, value: comment, disabled: !canScore,
          attrs: { placeholder: t("score.comment"), "aria-label": `${criterionLabel(criterion)}: ${t("score.comment")}`, maxlength: 500 },
          on: { input: (e) => {
            draft[criterion.id] = { ...draft[criterion.id], comment: e.target.value };
            row.classList.toggle("changed", this.changed(criterion.id, current, draft));
          } },
        })));
    row.classList.toggle("changed", this.changed(criterion.id, current, draft));
    return row;
  }

  changed(id, current, draft) {
    const mine = draft[id];
    if (!mine) return false;
    const value = mine.value !== undefined ? mine.value : current ? current.value : null;
    const comment = mine.comment !== undefined ? mine.comment : current ? current.comment || "" : "";
    if (value === null || value === undefined || Number.isNaN(value)) return false;
    return !current || current.value !== value || (current.comment || "") !== comment;
  }

  async save(event, criteria, current, draft) {
    event.preventDefault();
    const scores = [];
    for (const criterion of criteria) {
      if (!this.changed(criterion.id, current.get(criterion.id), draft)) continue;
      const mine = draft[criterion.id];
      const was = current.get(criterion.id);
      scores.push({
        criterion: criterion.id,
        value: mine.value !== undefined ? mine.value : was.value,
        comment: mine.comment !== undefined ? mine.comment : (was && was.comment) || "",
      });
    }
    if (!scores.length) {
      this.status.textContent = t("score.unchanged");
      return;
    }
    const id = this.detail.id;
    this.saveButton.disabled = true;
    this.status.textContent = t("score.saving");
    try {
      const reply = await api(`/api/calls/${id}/scores`, { method: "PUT", body: { scores } });
      this.drafts.delete(id);
      this.savedAt = { id, at: Date.now() };
      this.onSaved(reply);
    } catch (error) {
      this.saveButton.disabled = false;
      this.status.textContent = "";
      reportError(error, t("score.save_failed"));
    }
  }

  historyBlock(history, criteria) {
    if (!history.length) return null;
    const names = new Map(criteria.map((c) => [c.id, criterionLabel(c)]));
    const rows = [...history].sort((a, b) => (b.superseded_at || 0) - (a.superseded_at || 0)).map((s) => h("tr", {},
      h("td", { text: names.get(s.criterion) || s.criterion }),
      h("td", { class: "num", text: String(s.value) }),
      h("td", { class: "comment", text: s.comment || "" }),
      h("td", { text: s.scored_by || "" }),
      h("td", { class: "time", text: formatDateTime(s.scored_at) }),
      h("td", { class: "time muted", text: t("score.superseded", { when: formatDateTime(s.superseded_at) }) })));
    return h("details", { class: "score-history", attrs: { "data-test": "score-history" } },
      h("summary", { text: t("score.history", { n: history.length }) }),
      h("table", { class: "data compact" }, h("tbody", {}, rows)));
  }
}

function criterionLabel(criterion) {
  return (language() === "zh-CN" && criterion.label_zh) || criterion.label || criterion.id;
}
