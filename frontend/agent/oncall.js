// The on-call screen: the call bar (talk timer, hold, transfers), the call script's step
// with its branches, the notes box, the caller panel at the side and the step progress.
import { h, fill, kbd } from "/shared/dom.js";
import { t, formatDuration, formatClock } from "/shared/i18n.js";
import { StepView, renderBranches, KEYS } from "/agent/step.js";
import { renderCaller } from "/agent/pop.js";
import { renderProgress } from "/agent/progress.js";
import { otherCalls } from "/agent/state.js";
import { renderIncident, incidentsOfCall } from "/agent/alerts.js";

const STEP_MOVES = new Set(["next", "back", "branch"]);

export class OnCallView {
  /** controller: {drafts, perform(callId, action) -> Promise<reply|null>} */
  constructor(root, controller) {
    this.root = root;
    this.controller = controller;
    this.callId = null;
    this.moving = false;
    this.afterMove = []; // call_script.updated held back while a step move is in flight
    this.step = new StepView({
      fieldChanged: (name, value) => controller.drafts.setField(this.callId, name, value),
      next: () => this.next(),
      back: () => this.back(),
      refer: () => this.refer(),
    });
    this.callbar = h("div", { class: "callbar" });
    this.others = h("div", { class: "others" });
    this.incident = h("div", { class: "incident-slot" });
    this.branches = h("div", { class: "branch-slot" });
    this.stepSlot = h("div", { class: "step-slot" });
    this.notes = h("textarea", {
      id: "call-notes",
      rows: 5,
      attrs: { "aria-keyshortcuts": KEYS.notes },
      on: {
        input: () => {
          controller.drafts.setNotes(this.callId, this.notes.value);
          this.notesState.textContent = t("notes.unsaved");
        },
      },
    });
    this.notesState = h("span", { class: "notes-state muted small", attrs: { "aria-live": "polite" } });
    this.notesCard = h("div", { class: "notes-card" },
      h("div", { class: "notes-head" },
        h("label", { attrs: { for: "call-notes" } }, h("span", { text: t("notes.title"), dataset: { i18n: "notes.title" } }), " ", kbd(KEYS.notes)),
        this.notesState),
      this.notes);
    this.progress = h("aside", { class: "col-progress" });
    this.caller = h("aside", { class: "col-caller" });
    this.callerSlot = h("div", { class: "caller-slot" });
    this.caller.append(this.notesCard, this.callerSlot);
    fill(root, h("div", { class: "oncall" },
      this.progress,
      h("div", { class: "col-work" }, this.callbar, this.others, this.incident, this.branches, this.stepSlot),
      this.caller));
    this.rendered = { sessionVersion: null, consoleCall: null, lang: null };
  }

  render({ model, callId, now, lang }) {
    const session = model.sessions.get(callId) || null;
    const live = model.live.get(callId) || null;
    const consoleCall = model.consoleCalls.get(callId) || null;
    const fresh = callId !== this.callId || lang !== this.rendered.lang;
    if (fresh) this.rendered = { sessionVersion: null, consoleCall: null, lang };
    this.callId = callId;
    this.session = session;
    fill(this.callbar, ...callbar(model, callId, session, live, consoleCall, now));
    fill(this.others, ...otherCalls(model, callId).map(otherCall));
    fill(this.incident, renderIncident(incidentsOfCall(model, callId, consoleCall), session, (id) => this.branch(id)));
    if (fresh || consoleCall !== this.rendered.consoleCall) {
      fill(this.callerSlot, renderCaller(consoleCall, live));
      this.rendered.consoleCall = consoleCall;
    }
    if (!session) {
      this.renderWithoutSession(consoleCall);
      return;
    }
    const drafts = (name) => this.controller.drafts.fieldValue(callId, name);
    if (fresh || this.stepSlot.firstChild !== this.step.el) {
      fill(this.stepSlot, this.step.el);
      this.step.key = null;
    }
    this.step.render(session, drafts);
    if (fresh || session.version !== this.rendered.sessionVersion) {
      fill(this.branches, renderBranches(session, (id) => this.branch(id)));
      fill(this.progress, renderProgress(session, now));
      this.rendered.sessionVersion = session.version;
    }
    this.notesCard.hidden = false;
    const draftNotes = this.controller.drafts.notes(callId);
    const notes = draftNotes ?? session.notes ?? "";
    if (document.activeElement !== this.notes && this.notes.value !== notes) this.notes.value = notes;
    if (fresh && document.activeElement !== this.notes) this.notes.value = notes;
    const queued = this.controller.sender.queuedFor(callId).some((action) => action.kind === "note");
    this.notesState.textContent = draftNotes === undefined
      ? (notes ? t("notes.saved") : "")
      : t(queued ? "notes.queued" : "notes.unsaved");
  }

  renderWithoutSession(consoleCall) {
    const text = consoleCall && consoleCall.session === null && consoleCall.call?.answered_at
      ? t("oncall.no_call_script")
      : t("oncall.opening");
    fill(this.stepSlot, h("div", { class: "step-card placeholder" }, h("p", { class: "prompt muted", text })));
    fill(this.branches);
    fill(this.progress);
    this.notesCard.hidden = true;
    this.step.key = null;
  }

  /**
   * Step-changing actions one at a time: a second Enter while the first is on its way would
   * otherwise skip a step. Offline, the action waits in the queue and the agent is told.
   */
  async move(action) {
    if (this.moving) return null;
    const waiting = this.controller.sender.queuedFor(this.callId);
    if (waiting.some((queued) => STEP_MOVES.has(queued.kind))) {
      this.step.showInfo(t("step.queued")); // one move at a time, even offline
      return null;
    }
    this.moving = true;
    try {
      const reply = await this.controller.perform(this.callId, action);
      if (reply === null && this.controller.sender.pending) this.step.showInfo(t("step.queued"));
      return reply;
    } finally {
      this.moving = false;
      const deferred = this.afterMove.splice(0);
      for (const message of deferred) this.controller.onMessage(message, message.type);
    }
  }

  async next() {
    if (!this.session || this.session.status !== "active") return;
    const values = this.step.values();
    if (values === null) return;
    this.step.showError("");
    const before = this.session.step;
    const reply = await this.move(Object.keys(values).length ? { kind: "next", values } : { kind: "next" });
    if (reply?.session?.step?.id === before.id && before.is_last) this.step.showInfo(t("step.complete"));
  }

  async back() {
    if (!this.session?.step?.can_back) return;
    await this.move({ kind: "back" });
  }

  async branch(branchId) {
    const branch = (this.session?.branches || []).find((b) => b.id === branchId);
    if (!branch || !branch.available) return;
    await this.move({ kind: "branch", branch: branchId });
  }

  /** Alt+<key>: the branch with this key; false when there is none. */
  branchByKey(key) {
    const branch = (this.session?.branches || []).find((b) => (b.key || "").toLowerCase() === key);
    if (!branch) return false;
    this.branch(branch.id);
    return true;
  }

  async refer() {
    if (!this.session?.step?.transfer) return;
    await this.move({ kind: "refer" });
  }

  focusNotes() {
    if (!this.notesCard.hidden) this.notes.focus();
  }

  showError(message, errors) {
    this.step.showError(message, errors);
  }
}

function callbar(model, callId, session, live, consoleCall, now) {
  const caller = consoleCall?.caller || {};
  const number = caller.number || live?.customer || consoleCall?.call?.customer || t("caller.withheld");
  const answeredAt = session?.answered_at || live?.answered_at || consoleCall?.call?.answered_at;
  const onHold = Boolean(live?.on_hold);
  const holdSince = model.holdSince?.get(callId);
  const transfers = model.transfers.get(callId) || [];
  const ended = model.ended.has(callId);
  const items = [
    h("div", { class: "callbar-who" },
      h("span", { class: "callbar-number", dataset: { test: "call-number" }, text: number }),
      caller.name ? h("span", { class: "callbar-name", text: caller.name }) : null,
      live?.queue ? h("span", { class: "tag", text: t("pop.queue", { queue: live.queue }) }) : null),
    h("div", { class: "callbar-status", dataset: { test: "call-status" } },
      ended
        ? h("span", { class: "badge badge-ended", text: t("oncall.ended") })
        : onHold
          ? h("span", { class: "badge badge-hold", attrs: { role: "status" } },
            t("oncall.on_hold"), holdSince ? h("span", { class: "clock", dataset: { since: holdSince }, text: formatDuration(now - holdSince) }) : null)
          : h("span", { class: "badge badge-talking", text: t("oncall.talking") }),
      answeredAt
        ? h("span", { class: "talk-timer", attrs: { title: t("oncall.talk_time") } },
          h("span", { class: "muted", text: `${t("oncall.talk_time")} ` }),
          h("span", { class: "clock", dataset: { since: answeredAt, test: "talk-timer" }, text: formatDuration(now - answeredAt) }))
        : null),
  ];
  const notes = [];
  if (session?.handed_over_from) notes.push(h("div", { class: "callbar-note" }, t("oncall.handed_over_from", { agent: session.handed_over_from })));
  for (const transfer of transfers) {
    notes.push(h("div", { class: "callbar-note callbar-transfer", attrs: { role: "status" } },
      t(transfer.target ? "oncall.transferred_to" : "oncall.transferred", {
        kind: t(`transfer.${transfer.kind || "blind"}`),
        target: transfer.target || "",
        time: transfer.at ? formatClock(transfer.at) : "",
      })));
  }
  if (session?.call_script) items.push(h("div", { class: "callbar-script muted small", text: `${session.call_script.title}` }));
  return [h("div", { class: "callbar-main" }, items), ...notes];
}

function otherCall(other) {
  const key = { ringing: "others.ringing", on_call: "others.on_call", wrap_up: "others.wrap_up" }[other.kind];
  return h("div", { class: `other other-${other.kind}`, attrs: { role: "status" } },
    t(key, { number: other.number || t("caller.withheld") }));
}
