// The callbacks: the open ones (queued for a person, waiting for the next try, dialling) and
// the closed loop — every abandoned, missed or dropped call of the last 24 hours with whether
// it was called back and whether the customer was reached, per call, not as a percentage.
// callback.updated changes a row at once; the loop is fetched again shortly after.
import { h, fill } from "/shared/dom.js";
import { api, describeError } from "/shared/api.js";
import { t, label } from "/shared/i18n.js";
import { when, relativeNode, word, pbxTag } from "/it/format.js";

const OPEN = ["queued", "pending", "dialling"];
const TABS = ["open", "loop"];
const LOOP_REFETCH_MS = 1500;

export class CallbackList {
  constructor(root) {
    this.root = root;
    this.tab = "open";
    this.open = new Map(); // id -> view
    this.loop = null; // {items, summary}
    this.errors = { open: null, loop: null };
    this.loopTimer = null;
    this.flash = new Set();
    this.title = h("h2", {});
    this.summary = h("span", { class: "card-count", attrs: { "data-test": "callbacks-summary" } });
    this.tabs = h("div", { class: "segmented", attrs: { role: "tablist" } });
    this.table = h("table", { class: "data callbacks-table" });
    this.empty = h("p", { class: "card-empty muted", hidden: true });
    fill(this.root,
      h("div", { class: "card-head" }, this.title, this.summary, this.tabs),
      h("div", { class: "table-wrap table-scroll" }, this.table, this.empty));
  }

  async load() {
    await Promise.all([this.loadOpen(), this.loadLoop()]);
  }

  async loadOpen() {
    // callback.updated messages that come while the list is on its way are newer than it.
    this.pushed = new Map();
    try {
      const reply = await api("/api/callbacks?status=open&limit=200");
      this.open = new Map((reply.items || []).map((item) => [item.id, item]));
      for (const view of this.pushed.values()) this.placeOpen(view);
      this.errors.open = null;
    } catch (error) {
      this.errors.open = error;
    }
    this.pushed = null;
    this.render();
  }

  placeOpen(view) {
    if (OPEN.includes(view.status)) this.open.set(view.id, { ...(this.open.get(view.id) || {}), ...view });
    else this.open.delete(view.id);
  }

  async loadLoop() {
    try {
      this.loop = await api("/api/callbacks/loop?hours=24");
      this.errors.loop = null;
    } catch (error) {
      this.errors.loop = error;
    }
    this.render();
  }

  /** callback.updated */
  update(view) {
    if (!view || view.id === undefined) return;
    this.pushed?.set(view.id, view);
    this.placeOpen(view);
    if (this.loop) {
      for (const item of this.loop.items || []) {
        if ((item.callback && item.callback.id === view.id) || (item.call && view.call_id && item.call.call_id === view.call_id)) {
          item.callback = view;
          item.called_back = item.called_back || view.attempts > 0;
          if (view.status === "reached") item.reached = true;
        }
      }
    }
    this.flash.add(view.id);
    setTimeout(() => this.flash.delete(view.id), 4000);
    this.render();
    clearTimeout(this.loopTimer);
    this.loopTimer = setTimeout(() => this.loadLoop(), LOOP_REFETCH_MS);
  }

  render() {
    this.title.textContent = t("it.callbacks");
    fill(this.tabs, TABS.map((tab) => h("button", {
      type: "button",
      class: `seg${tab === this.tab ? " seg-on" : ""}`,
      attrs: { role: "tab", "aria-selected": tab === this.tab ? "true" : "false", "data-tab": tab },
      text: t(`it.callbacks.${tab}`),
      on: { click: () => { this.tab = tab; this.render(); } },
    })));
    if (this.tab === "open") this.renderOpen();
    else this.renderLoop();
  }

  renderOpen() {
    const rows = [...this.open.values()].sort((a, b) => (a.next_attempt_at ?? a.created_at ?? 0) - (b.next_attempt_at ?? b.created_at ?? 0));
    this.summary.textContent = t("it.callbacks.count", { n: rows.length });
    this.table.dataset.test = "callbacks";
    fill(this.table,
      head(["customer", "reason", "cb_status", "next"]),
      h("tbody", {}, rows.map((row) => h("tr", {
        class: `cb-row cb-${row.status}${this.flash.has(row.id) ? " changed" : ""}`,
        dataset: { id: String(row.id), status: row.status, customer: row.customer || "", pbx: row.pbx || "" },
      },
      h("td", { class: "number" }, row.customer || "—", pbxTag(row.pbx)),
      h("td", {}, reasonBadge(row.reason)),
      h("td", { class: "cb-status-cell" }, h("span", { class: `badge cb-status cbs-${row.status}`, text: word("cb", row.status) }),
        h("span", { class: "cb-tries muted small", text: triesText(row) })),
      h("td", { class: "next" }, nextTry(row))))));
    this.showEmpty(rows.length, this.errors.open, t("it.callbacks.none"));
  }

  renderLoop() {
    const loop = this.loop || { items: [], summary: null };
    const items = [...(loop.items || [])].sort((a, b) => (b.call?.ended_at || 0) - (a.call?.ended_at || 0));
    const summary = loop.summary || { calls: items.length, called_back: items.filter((i) => i.called_back).length, reached: items.filter((i) => i.reached).length };
    this.summary.textContent = t("it.callbacks.summary", summary);
    this.table.dataset.test = "callback-loop";
    fill(this.table,
      head(["call", "outcome", "called_back", "reached", "callback"]),
      h("tbody", {}, items.map((item) => {
        const call = item.call || {};
        const callback = item.callback;
        return h("tr", {
          class: `loop-row${item.called_back ? " called-back" : " not-called-back"}`,
          dataset: { callId: call.call_id || "", customer: call.customer || "", calledBack: String(Boolean(item.called_back)), reached: String(item.reached) },
        },
        h("td", { class: "loop-call" },
          h("span", { class: "number", text: call.customer || "—" }),
          pbxTag(callback?.pbx),
          // When and who: side by side if the card has room, else the agent under the time.
          h("span", { class: "loop-when muted" },
            h("span", { class: "when", text: when(call.ended_at) }),
            call.agent ? h("span", { class: "loop-agent", text: call.agent }) : null)),
        h("td", {}, h("span", { class: `badge outcome-${call.outcome}`, text: label("outcome", call.outcome) })),
        h("td", {}, yesNo(item.called_back)),
        h("td", {}, yesNo(item.reached)),
        h("td", {}, callback ? h("span", { class: `badge cb-status cbs-${callback.status}`, text: word("cb", callback.status) }) : h("span", { class: "muted", text: "—" })));
      })));
    this.showEmpty(items.length, this.errors.loop, t("it.callbacks.loop_none"));
  }

  showEmpty(count, error, none) {
    this.empty.hidden = count > 0 && !error;
    this.empty.textContent = error ? `${t("it.load_failed", { what: t("it.callbacks") })}: ${describeError(error)}` : none;
    this.empty.classList.toggle("error-text", Boolean(error));
  }
}

/** "try 2: busy · auto": how many tries, how the last one ended, whether the service dials. */
function triesText(row) {
  const tries = row.attempts ? t("it.cb.tries", { n: row.attempts }) : "";
  const result = row.last_result ? word("result", row.last_result) : "";
  return [[tries, result].filter(Boolean).join(": "), row.auto ? t("it.auto") : ""].filter(Boolean).join(" · ");
}

function reasonBadge(reason) {
  return h("span", { class: `badge reason-${reason}`, attrs: { title: label("reason", reason) }, text: word("reason", reason) });
}

function head(columns, numeric = []) {
  return h("thead", {}, h("tr", {}, columns.map((id) => h("th", {
    class: numeric.includes(id) ? "num" : "",
    attrs: { scope: "col" },
    text: t(`it.col.${id}`),
  }))));
}

function nextTry(row) {
  const parts = [];
  if (row.status === "dialling") {
    const step = row.attempt && row.attempt.status ? row.attempt.status : "placing";
    parts.push(h("span", { class: "dialling", dataset: { attempt: step }, text: word("attempt", step) }));
  }
  if (row.next_attempt_at && row.status !== "dialling") parts.push(relativeNode(row.next_attempt_at));
  if (row.waiting_for && row.status !== "dialling") parts.push(h("span", { class: "waiting-for muted", text: `${parts.length ? " · " : ""}${row.waiting_for}` }));
  if (row.agent) parts.push(h("span", { class: "cb-agent", text: row.agent }));
  const title = [row.waiting_for, row.agent].filter(Boolean).join(" · ");
  return parts.length ? h("span", { attrs: { title } }, parts) : h("span", { class: "muted", text: "—" });
}

/** yes (green) / no (red) / — when it does not apply (reached before any call back). */
function yesNo(value) {
  if (value === null || value === undefined) return h("span", { class: "muted yn", text: "—" });
  return h("span", { class: `yn yn-${value ? "yes" : "no"}`, dataset: { value: String(Boolean(value)) } }, value ? `✓ ${t("it.yes")}` : `✗ ${t("it.no")}`);
}
