// Complaints as a workflow: the list on the left (status, owner, customer, overdue), the
// chosen complaint on the right with its workflow buttons, owner, due date (red when
// overdue), a note, its history, and the same customer's earlier complaints.
import { h, fill } from "/shared/dom.js";
import { api, reportError, describeError } from "/shared/api.js";
import { t, label } from "/shared/i18n.js";
import { complaintQuery } from "/qa/query.js";
import { formatDateTime, span } from "/qa/format.js";

const PAGE = 100; // as complaintQuery asks
const STATUSES = ["received", "in_progress", "resolved", "closed"];
/** The workflow's moves from each status, as buttons: [target status, words, primary]. */
const MOVES = {
  received: [["in_progress", "move.in_progress", true]],
  in_progress: [["resolved", "move.resolved", true]],
  resolved: [["closed", "move.closed", true], ["in_progress", "move.reopen", false]],
  closed: [],
};

export class ComplaintsView {
  constructor(root, review) {
    this.root = root;
    this.review = review;
    this.page = null;
    this.detail = null;
    this.filtersBar = h("form", { class: "filters filters-complaints", on: { submit: (e) => { e.preventDefault(); this.apply(); } } });
    this.summary = h("div", { class: "list-summary", attrs: { role: "status" } });
    this.table = h("table", { class: "data complaints-table", attrs: { "data-test": "complaints" } });
    this.empty = h("p", { class: "list-empty muted", hidden: true });
    this.panel = h("aside", { class: "complaint-panel", attrs: { "data-test": "complaint-panel" } });
    fill(this.root,
      h("div", { class: "complaints-list" }, this.filtersBar, h("div", { class: "list-bar" }, this.summary),
        h("div", { class: "table-wrap" }, this.table, this.empty)),
      this.panel);
  }

  render(state, { refetch = true } = {}) {
    this.renderFilters(state);
    const query = complaintQuery(state, this.review.me);
    if (this.page) this.renderList(state);
    if (refetch || !this.page || this.page.query !== query) this.loadList(state);
    this.renderPanelFor(state, { refetch });
  }

  renderFilters(state) {
    const f = state.cfilters;
    const select = (key, options) => h("select", { name: key, on: { change: () => this.apply() } },
      options.map(([value, words]) => h("option", { value, text: words, selected: (f[key] || "") === value })));
    fill(this.filtersBar,
      h("label", { class: "filter" }, h("span", { class: "filter-label", text: t("clist.status") }),
        select("c_status", [["", t("filters.any")], ...STATUSES.map((s) => [s, label("status", s)])])),
      h("label", { class: "filter" }, h("span", { class: "filter-label", text: t("clist.owner") }),
        select("c_owner", [["", t("filters.any")], ["me", t("clist.owner_me")]])),
      h("label", { class: "filter" }, h("span", { class: "filter-label", text: t("clist.customer") }),
        h("input", { name: "c_customer", value: f.c_customer || "", attrs: { type: "text", inputmode: "tel", autocomplete: "off" }, on: { change: () => this.apply() } })),
      h("label", { class: "filter filter-check" },
        h("input", { type: "checkbox", name: "c_overdue", checked: f.c_overdue === "true", on: { change: () => this.apply() } }),
        h("span", { text: t("clist.overdue") })));
  }

  apply() {
    const data = new FormData(this.filtersBar);
    const cfilters = {};
    for (const key of ["c_status", "c_owner", "c_customer"]) {
      const value = String(data.get(key) ?? "").trim();
      if (value) cfilters[key] = value;
    }
    if (data.get("c_overdue")) cfilters.c_overdue = "true";
    this.review.navigate({ cfilters, coffset: 0 });
  }

  async loadList(state) {
    const query = complaintQuery(state, this.review.me);
    this.listQuery = query;
    try {
      const reply = await api(`/api/complaints?${query}`);
      if (this.listQuery !== query) return;
      this.page = { query, items: reply.items || [], total: reply.total || 0 };
    } catch (error) {
      if (this.listQuery !== query) return;
      this.page = { query, items: [], total: 0, error };
    }
    if (this.review.current() === "complaints") this.renderList(this.review.state);
  }

  renderList(state) {
    const { items, total, error } = this.page;
    fill(this.summary, h("strong", { text: t("list.total", { from: total ? state.coffset + 1 : 0, to: state.coffset + items.length, total }) }),
      this.pager(state, total));
    fill(this.table,
      h("thead", {}, h("tr", {}, ["id", "created", "customer", "category", "severity", "status", "owner", "due"].map((c) => h("th", { attrs: { scope: "col" }, text: t(`col.${c}`) })))),
      h("tbody", {}, items.map((c) => {
        const patch = { complaint: c.id };
        return h("tr", {
          class: `complaint-row${c.id === state.complaint ? " selected" : ""}${c.overdue ? " overdue" : ""}`,
          dataset: { complaintId: String(c.id) },
          on: { click: (event) => { if (!event.target.closest("a")) this.review.navigate(patch); } },
        },
        h("td", { class: "num" }, h("a", { href: this.review.href(patch), text: `#${c.id}`, on: { click: (e) => this.review.follow(e, patch) } })),
        h("td", { class: "time", text: formatDateTime(c.created_at) }),
        h("td", { class: "number", text: c.customer || "—" }),
        h("td", { class: "clip", text: label("category", c.category), attrs: { title: c.content } }),
        h("td", {}, h("span", { class: `badge severity-${c.severity}`, text: label("severity", c.severity) })),
        h("td", {}, h("span", { class: `badge status-${c.status}`, text: label("status", c.status) })),
        h("td", { text: c.owner || "—" }),
        h("td", { class: `time${c.overdue ? " overdue-text" : ""}`, attrs: { title: c.overdue ? t("complaint.overdue") : null }, text: this.dueText(c) }));
      })));
    this.empty.hidden = items.length > 0;
    this.empty.textContent = error ? describeError(error) : t("clist.none");
  }

  /** Previous/next only: a complaints queue is worked from the top, rarely paged deep. */
  pager(state, total) {
    if (total <= PAGE) return null;
    const link = (text, key, offset, enabled) => enabled
      ? h("a", { class: "btn btn-small", href: this.review.href({ coffset: offset }), attrs: { title: t(key) }, on: { click: (e) => this.review.follow(e, { coffset: offset }) }, text })
      : h("span", { class: "btn btn-small", attrs: { "aria-disabled": "true" }, text });
    return h("span", { class: "pager" },
      link("‹", "list.prev", Math.max(0, state.coffset - PAGE), state.coffset > 0),
      link("›", "list.next", state.coffset + PAGE, state.coffset + PAGE < total));
  }

  dueText(c) {
    if (!c.due_at) return "—";
    if (c.overdue) return `⚠ ${formatDateTime(c.due_at)}`; // red, and "overdue" in its title
    return formatDateTime(c.due_at);
  }

  // --- the panel ----------------------------------------------------------------------------

  renderPanelFor(state, { refetch }) {
    const id = state.complaint;
    if (!id) {
      this.detail = null;
      fill(this.panel, h("p", { class: "muted panel-placeholder", text: t("complaint.select") }));
      return;
    }
    if (this.detail && this.detail.id === id) {
      this.drawPanel();
      if (!refetch) return;
    } else {
      fill(this.panel, h("p", { class: "muted", text: t("complaint.loading") }));
    }
    this.loadDetail(id);
  }

  async loadDetail(id) {
    this.detailId = id;
    try {
      const detail = await api(`/api/complaints/${id}`);
      if (this.detailId !== id) return;
      this.detail = detail;
      this.drawPanel();
    } catch (error) {
      if (this.detailId !== id) return;
      fill(this.panel, h("p", { class: "error-text", attrs: { role: "alert" }, text: describeError(error) }));
    }
  }

  drawPanel() {
    const c = this.detail;
    const now = Date.now() / 1000;
    const callPatch = c.call_pk ? { view: "calls", call: c.call_pk, complaint: null } : null;
    const fact = (key, ...value) => h("div", { class: "kv" }, h("dt", { text: t(key) }), h("dd", {}, ...value));
    const due = c.due_at
      ? h("span", { class: c.overdue ? "overdue-text" : "", attrs: { "data-test": "due" } },
        formatDateTime(c.due_at), dueNote(c, now))
      : "—";
    this.note = h("textarea", { class: "note-input", rows: 2, attrs: { placeholder: t("complaint.note_placeholder"), "aria-label": t("complaint.note"), maxlength: 4000 } });
    fill(this.panel,
      h("header", { class: "complaint-head" },
        h("h2", { text: t("complaint.title", { id: c.id }) }),
        h("span", { class: `badge severity-${c.severity}`, text: label("severity", c.severity) }),
        h("span", { class: `badge badge-big status-${c.status}`, attrs: { "data-test": "complaint-status" }, text: label("status", c.status) }),
        c.overdue ? h("span", { class: "badge badge-overdue", text: t("complaint.overdue") }) : null),
      h("p", { class: "complaint-content", text: c.content }),
      h("dl", { class: "kvs kvs-compact" },
        fact("complaint.customer", c.customer || "—"),
        fact("complaint.category", label("category", c.category)),
        fact("complaint.call", callPatch
          ? h("a", { href: this.review.href(callPatch), on: { click: (e) => this.review.follow(e, callPatch) }, text: `${t("complaint.open_call")} #${c.call_pk}` })
          : "—"),
        fact("complaint.filed_by", c.created_by || "—", " · ", formatDateTime(c.created_at)),
        fact("complaint.due", due),
        fact("complaint.owner", h("span", { attrs: { "data-test": "owner" }, text: c.owner || t("complaint.nobody") }))),
      this.actions(c),
      this.historyBlock(c),
      this.earlierBlock(c));
  }

  actions(c) {
    const canAct = this.review.canReview;
    const moves = (MOVES[c.status] || []).map(([to, key, primary]) => h("button", {
      type: "button",
      class: `btn btn-small${primary ? " btn-primary" : ""}`,
      disabled: !canAct,
      dataset: { move: to },
      text: t(key),
      on: { click: () => this.change({ status: to }) },
    }));
    const me = this.review.me.username;
    const ownerButton = c.owner === me
      ? h("button", { type: "button", class: "btn btn-small", disabled: !canAct, text: t("complaint.release"), on: { click: () => this.change({ owner: null }) } })
      : h("button", { type: "button", class: "btn btn-small", disabled: !canAct, attrs: { "data-test": "take" }, text: t("complaint.take"), on: { click: () => this.change({ owner: me }) } });
    const ownerInput = h("input", { type: "text", class: "owner-input", attrs: { placeholder: t("complaint.owner_placeholder"), "aria-label": t("complaint.owner"), autocomplete: "off" } });
    return h("div", { class: "complaint-actions" },
      h("p", { class: "panel-status", attrs: { role: "status", "aria-live": "polite" } }),
      c.status === "closed" ? h("p", { class: "muted", text: t("complaint.closed") }) : h("div", { class: "moves" }, moves),
      h("div", { class: "owner-row" }, ownerButton,
        h("form", { class: "inline-form", on: { submit: (e) => {
          e.preventDefault();
          const username = ownerInput.value.trim();
          if (username) this.change({ owner: username });
        } } }, ownerInput, h("button", { type: "submit", class: "btn btn-small", disabled: !canAct, text: t("complaint.set_owner") }))),
      h("form", { class: "note-form", on: { submit: (e) => {
        e.preventDefault();
        const text = this.note.value.trim();
        if (text) this.change({ note: text });
      } } }, this.note, h("button", { type: "submit", class: "btn btn-small", disabled: !canAct, text: t("complaint.add_note") })));
  }

  /** PATCH the complaint; a note typed in the box goes along with a status move. */
  async change(body) {
    const c = this.detail;
    const note = this.note && this.note.value.trim();
    const payload = { ...body };
    if (note && body.status) payload.note = note;
    for (const button of this.panel.querySelectorAll("button")) button.disabled = true;
    try {
      this.detail = await api(`/api/complaints/${c.id}`, { method: "PATCH", body: payload });
      this.drawPanel();
      this.flash(t("complaint.saved", { id: c.id, status: label("status", this.detail.status) }));
      this.loadList(this.review.state);
    } catch (error) {
      reportError(error, t("complaint.failed"));
      this.drawPanel();
      if (this.note && note) this.note.value = note;
    }
  }

  /** Said in the panel, next to what changed; toasts would pile up over it. */
  flash(text) {
    const status = this.panel.querySelector(".panel-status");
    if (status) status.textContent = `✓ ${text}`;
  }

  historyBlock(c) {
    const entries = [...(c.history || [])].sort((a, b) => b.at - a.at);
    return h("section", { class: "complaint-section" },
      h("h3", { text: t("complaint.history") }),
      h("ol", { class: "history", attrs: { "data-test": "history" } }, entries.map((e) => h("li", { class: `history-${e.kind}` },
        h("span", { class: "time", text: formatDateTime(e.at, { seconds: true }) }),
        h("span", { class: "history-user", text: e.user || "—" }),
        h("span", { class: "history-text", text: historyText(e) })))));
  }

  earlierBlock(c) {
    const earlier = c.earlier || [];
    return h("section", { class: "complaint-section" },
      h("h3", { text: `${t("complaint.earlier")} (${earlier.length})` }),
      earlier.length ? h("ul", { class: "mini-list" }, earlier.map((e) => {
        const patch = { complaint: e.id };
        return h("li", {}, h("div", { class: "row" },
          h("a", { href: this.review.href(patch), on: { click: (ev) => this.review.follow(ev, patch) }, text: `#${e.id}` }),
          h("span", { class: "time", text: formatDateTime(e.created_at) }),
          h("span", { class: "tag", text: label("category", e.category) }),
          h("span", { class: `badge status-${e.status}`, text: label("status", e.status) })),
        h("p", { class: "clamp", text: e.content }));
      })) : h("p", { class: "muted", text: t("complaint.no_earlier") }));
  }
}

/** " · overdue by 2 d 3 h" or " · in 5 h 10 min"; nothing once it is resolved. */
function dueNote(c, now) {
  if (c.overdue) return ` · ${t("complaint.overdue_by", { time: span(now - c.due_at) })}`;
  if (c.status === "resolved" || c.status === "closed") return "";
  return ` · ${t("complaint.due_in", { time: span(c.due_at - now) })}`;
}

function historyText(entry) {
  const d = entry.detail || {};
  switch (entry.kind) {
    case "received":
      return `${t("event.received")}: ${label("category", d.category)}, ${label("severity", d.severity)}`;
    case "status":
      return t("event.status", { from: label("status", d.from), to: label("status", d.to) });
    case "owner":
      return t("event.owner", { from: d.from || t("complaint.nobody"), to: d.to || t("complaint.nobody") });
    case "note":
      return `${t("event.note")}: ${d.text || ""}`;
    default:
      return entry.kind;
  }
}
