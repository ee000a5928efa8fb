// One call, whole: what happened (timeline), what the agent did (call-script steps with
// times, fields, notes, disposition), what came of it (complaints, callbacks), how it did
// (adherence, scorecard) and the recording. A timeline entry or a step seeks the recording
// to that moment: recording time = entry time - recording_started_at.
import { h, fill } from "/shared/dom.js";
import { api, token, describeError, ApiError } from "/shared/api.js";
import { t, label, formatDuration } from "/shared/i18n.js";
import { timelineEntries, endedSentence } from "/qa/timeline.js";
import { formatDateTime, formatTime, seconds, offset, causeWords, score, scoreLevel, fieldName, otherPbx } from "/qa/format.js";
import { Scorecard } from "/qa/scorecard.js";

export class CallView {
  constructor(root, review) {
    this.root = root;
    this.review = review;
    this.detail = null;
    this.audio = null; // kept across re-renders of the same call: a language switch must not stop it
    this.seekable = [];
    this.scorecard = new Scorecard(review, (scores) => this.onScored(scores));
    this.loadingId = null;
  }

  render(state, { refetch = true } = {}) {
    const id = state.call;
    if (this.detail && this.detail.id === id) {
      this.draw();
      if (!refetch) return;
    } else {
      this.dropAudio();
      this.detail = null;
      fill(this.root, this.backLink(), h("p", { class: "muted loading", text: t("call.loading") }));
    }
    if (refetch) this.load(id);
  }

  async load(id) {
    this.loadingId = id;
    try {
      const [detail] = await Promise.all([api(`/api/calls/${id}`), this.scorecard.loadCriteria()]);
      if (this.loadingId !== id || this.review.state.call !== id) return;
      if (!this.detail || this.detail.id !== id) this.dropAudio();
      this.detail = detail;
      this.draw();
    } catch (error) {
      if (this.loadingId !== id) return;
      this.detail = null;
      fill(this.root, this.backLink(), h("p", { class: "error-text", attrs: { role: "alert" }, text: `${t("error.load_call")}: ${describeError(error)}` }));
    }
  }

  backLink() {
    const patch = { call: null };
    return h("a", { class: "back-link", href: this.review.href(patch), on: { click: (e) => this.review.follow(e, patch) } }, `← ${t("call.back")}`);
  }

  // --- the page ----------------------------------------------------------------------------

  draw() {
    const d = this.detail;
    this.seekable = [];
    const bar = this.recordingBar(d); // first: the rows below seek only when there is audio
    const left = h("div", { class: "call-col call-col-main" },
      this.timelineCard(d), this.stepsCard(d), this.fieldsCard(d));
    const right = h("div", { class: "call-col call-col-side" },
      this.scorecard.render(d), this.adherenceCard(d), this.complaintsCard(d), this.callbacksCard(d));
    fill(this.root,
      this.head(d),
      bar,
      h("div", { class: "call-grid" }, left, right));
    this.markPlayed();
  }

  head(d) {
    const live = d.status === "live";
    const outcome = live ? h("span", { class: "badge badge-live", text: t("list.live") })
      : h("span", { class: `badge badge-big outcome-${d.outcome}`, attrs: { "data-test": "call-outcome" }, text: label("outcome", d.outcome) });
    const fact = (key, value, cls) => h("div", { class: `fact ${cls || ""}` }, h("dt", { text: t(key) }), h("dd", {}, value));
    return h("header", { class: "call-head" },
      h("div", { class: "call-title" },
        this.backLink(),
        h("h1", { attrs: { "data-test": "call-number" }, text: d.customer || t("caller.withheld") }),
        outcome,
        h("span", { class: "call-when", text: formatDateTime(d.started_at, { seconds: true }) }),
        otherPbx(d.pbx) ? h("span", { class: "badge badge-pbx", attrs: { "data-test": "call-pbx", title: t("pbx.title", { pbx: d.pbx }) }, text: `${t("pbx.label")} ${d.pbx}` }) : null,
        h("span", { class: "call-sub muted", text: [label("direction", d.direction), (d.agents || []).join(" → "), d.queue ? `${t("col.queue")} ${d.queue}` : ""].filter(Boolean).join(" · ") }),
        h("span", { class: "call-id muted", attrs: { title: this.callIdTitle(d) }, text: `#${d.id} · ${d.call_id}` })),
      live ? h("p", { class: "notice", text: t("call.live") }) : null,
      d.ended_in_gap ? h("p", { class: "notice notice-warn", text: t("call.gap") }) : null,
      d.events_missed && !d.ended_in_gap ? h("p", { class: "notice notice-warn", text: t("call.events_missed") }) : null,
      h("dl", { class: "facts" },
        fact("call.ring", seconds(d.ring_seconds)),
        fact("call.talk", seconds(d.talk_seconds)),
        fact("call.hold", d.hold_seconds ? seconds(d.hold_seconds) : "—"),
        fact("call.transfers", String(d.transfers || 0)),
        fact("call.ended_by", live ? "—" : endedSentence(d.ended_by)),
        fact("call.cause", live ? "—" : causeWords(d.hangup_cause), d.outcome === "dropped" ? "fact-bad" : ""),
        fact("call.disposition", d.disposition ? label("disposition", d.disposition) : "—"),
        fact("call.score", h("span", { class: `score score-${scoreLevel(d.score)}`, attrs: { "data-test": "call-score" }, text: d.score === null || d.score === undefined ? t("call.not_scored") : score(d.score) }))),
      d.drop_reason ? h("p", { class: "drop-reason" }, h("span", { class: "drop-reason-label", text: `${t("call.drop_reason")}: ` }), d.drop_reason) : null);
  }

  /** On another PBX the call id is not the Linkedid alone: say which part is which. */
  callIdTitle(d) {
    const pbx = otherPbx(d.pbx);
    return pbx ? t("call.call_id_pbx", { pbx, linkedid: d.linkedid }) : t("call.call_id");
  }

  // --- the recording -----------------------------------------------------------------------

  recordingBar(d) {
    const file = d.recording ? d.recording.split("/").pop() : null;
    const bar = h("section", { class: "recording", attrs: { "aria-label": t("rec.title"), "data-test": "recording" } },
      h("h2", { class: "recording-title", text: t("rec.title") }));
    if (!d.recording) {
      bar.append(h("p", { class: "recording-missing", attrs: { "data-test": "recording-missing" }, text: t("rec.none") }));
      return bar;
    }
    if (d.recording_available === false) {
      bar.classList.add("recording-absent");
      const why = d.recording_empty ? t("rec.empty", { file }) : t("rec.missing", { file });
      bar.append(h("p", { class: "recording-missing", attrs: { role: "alert", "data-test": "recording-missing" }, text: why }));
      return bar;
    }
    const audio = this.audioFor(d);
    this.recordingError = this.recordingError || h("p", { class: "recording-error", attrs: { role: "alert" }, hidden: true });
    bar.append(audio,
      h("div", { class: "recording-info" },
        h("span", { class: "muted small", attrs: { title: d.recording }, text: t("rec.file", { file }) }),
        h("span", { class: "muted small", text: t("rec.hint") })),
      this.recordingError);
    return bar;
  }

  audioFor(d) {
    if (this.audio && this.audio.dataset.callPk === String(d.id)) return this.audio;
    this.dropAudio();
    const audio = h("audio", {
      controls: true,
      preload: "metadata",
      src: `/api/calls/${d.id}/recording?token=${encodeURIComponent(token() || "")}`,
      dataset: { callPk: String(d.id) },
      attrs: { "data-test": "audio" },
      on: {
        timeupdate: () => this.markPlayed(),
        seeked: () => this.markPlayed(),
        error: () => this.explainAudioError(d.id),
      },
    });
    this.audio = audio;
    return audio;
  }

  dropAudio() {
    if (this.audio) {
      this.audio.pause();
      this.audio.removeAttribute("src");
      this.audio.load();
    }
    this.audio = null;
    this.recordingError = null;
  }

  /** The element says only "error": ask the server why (a 404 names the missing file). */
  async explainAudioError(id) {
    let detail = this.audio && this.audio.error ? `media error ${this.audio.error.code}` : "";
    try {
      const reply = await fetch(`/api/calls/${id}/recording`, { headers: { Authorization: `Bearer ${token()}`, Range: "bytes=0-0" } });
      if (!reply.ok) {
        const body = await reply.json().catch(() => null);
        detail = describeError(new ApiError(reply.status, body));
      }
    } catch (error) {
      detail = describeError(error);
    }
    if (this.recordingError && this.detail && this.detail.id === id) {
      this.recordingError.hidden = false;
      this.recordingError.textContent = t("rec.failed", { detail });
    }
  }

  /** Seconds into the recording of a moment of the call; null when there is nothing to seek. */
  recordingOffset(at) {
    const d = this.detail;
    if (!this.audio || !d || d.recording_started_at === null || d.recording_started_at === undefined) return null;
    if (at === null || at === undefined) return null;
    return at - d.recording_started_at;
  }

  seek(at, row) {
    const position = this.recordingOffset(at);
    if (position === null) return;
    this.audio.currentTime = Math.max(0, position);
    this.audio.play().catch(() => {}); // a browser may refuse to play; the position is set anyway
    for (const item of this.root.querySelectorAll(".seek-target.clicked")) item.classList.remove("clicked");
    if (row) row.classList.add("clicked");
  }

  /** While the recording plays, the timeline entry it has reached last is marked. */
  markPlayed() {
    if (!this.audio) return;
    const now = this.audio.currentTime;
    const started = now > 0 || !this.audio.paused;
    let latest = null;
    for (const { row, position } of this.seekable) {
      row.classList.remove("playing");
      const reached = started && position !== null && Math.max(0, position) <= now + 0.05;
      if (reached && row.closest("[data-test=timeline]")) latest = row;
    }
    if (latest) latest.classList.add("playing");
  }

  /** A table row that seeks the recording when clicked (or Enter/Space when focused). */
  seekRow(at, cells, attrs = {}) {
    const position = this.recordingOffset(at);
    const canSeek = position !== null;
    const row = h("tr", {
      class: canSeek ? "seek-target" : "",
      attrs: { tabindex: canSeek ? "0" : null, title: canSeek ? t("timeline.seek") : null, ...attrs },
      on: canSeek ? {
        click: (event) => { if (!event.target.closest("a")) this.seek(at, row); },
        keydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            this.seek(at, row);
          }
        },
      } : {},
    }, cells);
    if (canSeek) row.dataset.offset = String(Math.max(0, position).toFixed(2));
    this.seekable.push({ row, position });
    return row;
  }

  // --- timeline ----------------------------------------------------------------------------

  timelineCard(d) {
    const entries = timelineEntries(d);
    const start = d.started_at;
    const rows = entries.map((entry) => {
      const position = this.recordingOffset(entry.at);
      const recordingCell = position === null ? "" : position < -0.5 ? t("rec.before") : offset(Math.max(0, position));
      return this.seekRow(entry.at, [
        h("td", { class: "time", text: formatTime(entry.at) }),
        h("td", { class: "num offset", text: entry.at && start ? offset(entry.at - start) : "" }),
        h("td", { class: `event tone-${entry.tone || "plain"}` },
          h("span", { class: "event-text", text: entry.text }),
          entry.who ? h("span", { class: "event-who", text: ` — ${entry.who}` }) : null,
          entry.extra ? h("span", { class: "event-extra muted", text: ` (${entry.extra})` }) : null,
          entry.complaint ? this.complaintLink(entry.complaint) : null),
        h("td", { class: "num rec-offset muted", text: recordingCell }),
      ], { "data-kind": entry.kind });
    });
    return card("timeline", t("timeline.title"),
      rows.length ? h("table", { class: "data compact timeline", attrs: { "data-test": "timeline" } },
        h("thead", {}, h("tr", {},
          h("th", { text: t("timeline.time") }), h("th", { class: "num", text: t("timeline.offset") }),
          h("th", { text: t("timeline.event") }), h("th", { class: "num", text: t("rec.title") }))),
        h("tbody", {}, rows))
        : h("p", { class: "muted", text: t("timeline.empty") }));
  }

  complaintLink(id) {
    const patch = { view: "complaints", complaint: id, call: null };
    return h("a", { class: "inline-link", href: this.review.href(patch), on: { click: (e) => this.review.follow(e, patch) }, text: ` #${id}` });
  }

  // --- call script -------------------------------------------------------------------------

  stepsCard(d) {
    const sessions = d.call_script_sessions || [];
    if (!sessions.length) return card("steps", t("steps.title"), h("p", { class: "muted", text: t("steps.none") }));
    return card("steps", t("steps.title"), sessions.map((session) => this.session(session, d)));
  }

  session(session, d) {
    const script = session.call_script_title || session.call_script;
    const head = h("div", { class: "session-head" },
      h("strong", { text: t("steps.session", { call_script: script, agent: session.agent }) }),
      session.language ? h("span", { class: "tag", text: session.language }) : null,
      session.handed_over_from ? h("span", { class: "muted small", text: t("steps.handed_over", { agent: session.handed_over_from }) }) : null,
      h("span", { class: "badge", text: t(`session.${session.status}`, {}, session.status) }),
      session.disposition ? h("span", { class: "badge badge-disposition", text: label("disposition", session.disposition) }) : null);
    const rows = (session.steps || []).map((step, index) => {
      const duration = step.left_at && step.entered_at ? formatDuration(step.left_at - step.entered_at) : t("steps.open");
      return this.seekRow(step.entered_at, [
        h("td", { class: "num muted", text: String(index + 1) }),
        h("td", { class: "step-name", text: step.title || step.step }),
        h("td", { class: "time", text: formatTime(step.entered_at) }),
        h("td", { class: "num offset", text: step.entered_at && d.answered_at ? offset(step.entered_at - d.answered_at) : "" }),
        h("td", { class: "time", text: step.left_at ? formatTime(step.left_at) : "—" }),
        h("td", { class: "num", text: duration }),
      ], { "data-step": step.step });
    });
    return h("div", { class: "session", attrs: { "data-test": "call-script-session" } }, head,
      h("table", { class: "data compact steps", attrs: { "data-test": "steps" } },
        h("thead", {}, h("tr", {},
          h("th", { class: "num", text: "#" }), h("th", { text: t("steps.step") }), h("th", { text: t("steps.entered") }),
          h("th", { class: "num", text: t("timeline.offset") }), h("th", { text: t("steps.left") }), h("th", { class: "num", text: t("steps.duration") }))),
        h("tbody", {}, rows)));
  }

  fieldsCard(d) {
    const sessions = d.call_script_sessions || [];
    const fields = [];
    const notes = [];
    for (const session of sessions) {
      const labels = session.field_labels || {};
      for (const [name, value] of Object.entries(session.fields || {})) {
        if (value === null || value === undefined || value === "") continue;
        fields.push(h("div", { class: "kv" }, h("dt", { text: labels[name] || fieldName(name) }), h("dd", { text: String(value) })));
      }
      if (session.notes) notes.push(h("p", { class: "notes-text", text: session.notes }));
    }
    return card("fields", t("fields.title"),
      fields.length ? h("dl", { class: "kvs", attrs: { "data-test": "fields" } }, fields) : h("p", { class: "muted", text: t("fields.none") }),
      h("h3", { class: "sub-title", text: t("notes.title") }),
      notes.length ? h("div", { attrs: { "data-test": "notes" } }, notes) : h("p", { class: "muted", text: t("notes.none") }));
  }

  // --- side: adherence, complaints, callbacks ---------------------------------------------

  adherenceCard(d) {
    const adherence = d.adherence;
    if (!adherence || !(adherence.checks || []).length) return card("adherence", t("adherence.title"), h("p", { class: "muted", text: t("adherence.none") }));
    const items = adherence.checks.map((check) => {
      const state = check.passed === true ? "pass" : check.passed === false ? "fail" : "info";
      const mark = { pass: "✓", fail: "✗", info: "•" }[state];
      return h("li", { class: `check check-${state}`, dataset: { rule: check.rule } },
        h("span", { class: "check-mark", attrs: { "aria-label": t(`adherence.${state}`) }, text: mark }),
        h("span", { class: "check-label", text: t(`rule.${check.rule}`, {}, check.label || check.rule) }),
        check.detail ? h("span", { class: "check-detail", text: check.detail }) : null);
    });
    return card("adherence", t("adherence.title"),
      h("p", { class: "card-note", text: t("adherence.counts", { passed: adherence.passed ?? 0, failed: adherence.failed ?? 0 }) }),
      h("ul", { class: "checks", attrs: { "data-test": "adherence" } }, items));
  }

  complaintsCard(d) {
    const complaints = d.complaints || [];
    return card("complaints", `${t("complaints.title")} (${complaints.length})`,
      complaints.length ? h("ul", { class: "mini-list" }, complaints.map((c) => {
        const patch = { view: "complaints", complaint: c.id, call: null };
        return h("li", {},
          h("div", { class: "row" },
            h("a", { href: this.review.href(patch), on: { click: (e) => this.review.follow(e, patch) }, text: `#${c.id}` }),
            h("span", { class: `badge severity-${c.severity}`, text: label("severity", c.severity) }),
            h("span", { class: "tag", text: label("category", c.category) }),
            h("span", { class: `badge status-${c.status}`, text: label("status", c.status) })),
          h("p", { class: "clamp", text: c.content }));
      })) : h("p", { class: "muted", text: t("complaints.none") }));
  }

  callbacksCard(d) {
    const callbacks = d.callbacks || [];
    const placed = (d.callback_calls || []).map((c) => h("li", {}, this.callLink(c.id, t("callbacks.call", { id: c.id }))));
    const origin = d.callback_for_pk ? h("p", {}, this.callLink(d.callback_for_pk, t("callbacks.for", { id: d.callback_for_pk }))) : null;
    const list = callbacks.length ? h("ul", { class: "mini-list" }, callbacks.map((c) => h("li", {},
      h("div", { class: "row" },
        h("span", { class: "badge badge-callback", text: label("reason", c.reason) }),
        h("span", { class: `badge status-${c.status}`, text: label("status", c.status) }),
        h("span", { class: "muted small", text: t("callbacks.attempts", { n: c.attempts ?? 0 }) }),
        h("span", { class: "when", text: formatDateTime(c.created_at) })),
      (c.attempts_list || []).map((a) => h("div", { class: "muted small" },
        t("callbacks.attempt", { n: a.number, agent: a.agent, result: a.result ? label("result", a.result) : label("status", "dialling") }))))))
      : (origin ? null : h("p", { class: "muted", text: t("callbacks.none") }));
    return card("callbacks", `${t("callbacks.title")} (${callbacks.length})`,
      origin, list, placed.length ? h("ul", { class: "mini-list" }, placed) : null);
  }

  /** A link to another call of the same story (a callback and the call it answers for). */
  callLink(id, text) {
    const patch = { call: id };
    return h("a", { class: "inline-link", href: this.review.href(patch), on: { click: (e) => this.review.follow(e, patch) }, text });
  }

  onScored(scores) {
    this.detail = { ...this.detail, scores, score: scores.total };
    this.review.views.calls.page = null; // the list's scores changed: fetch it again when shown
    this.draw();
  }
}

function card(name, title, ...children) {
  return h("section", { class: `card qa-card card-${name}`, attrs: { "data-card": name } },
    h("h2", { class: "qa-card-title", text: title }), children);
}
