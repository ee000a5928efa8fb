// The incident list: active incidents by level then newest, with a ticking age. A new
// incident (incident.opened) appears at once with an alert bar above the board, since the
// procedure is "report first"; a reminder (incident.reminder) flags its row until progress.
import { h, fill } from "/shared/dom.js";
import { api, describeError } from "/shared/api.js";
import { t } from "/shared/i18n.js";
import { ageNode, when, levelBadge, levelRank, word, pbxTag, placeText } from "/it/format.js";

const FILTERS = [
  { id: "active", status: "active", statuses: ["open", "acknowledged"] },
  { id: "to_review", status: "resolved", statuses: ["resolved"] },
  { id: "all", status: "all", statuses: null },
];
const NEW_FOR_MS = 15_000;
const MAX_ALERTS = 4;

export class IncidentList {
  constructor(root, alertsEl, board) {
    this.root = root;
    this.alertsEl = alertsEl;
    this.board = board;
    this.filter = FILTERS[0];
    this.items = new Map(); // id -> view
    this.total = 0;
    this.error = null;
    this.fresh = new Set(); // ids opened since the page loaded, highlighted for a while
    this.reminded = new Set(); // ids with a reminder not yet answered by progress
    this.alerts = []; // {id, kind: "opened"|"reminder"}
    this.title = h("h2", {});
    this.summary = h("span", { class: "card-count", attrs: { "data-test": "incidents-summary" } });
    this.tabs = h("div", { class: "segmented", attrs: { role: "tablist" } });
    this.table = h("table", { class: "data incidents-table", attrs: { "data-test": "incidents" } });
    this.empty = h("p", { class: "card-empty muted", hidden: true });
    fill(this.root,
      h("div", { class: "card-head" }, this.title, this.summary, this.tabs),
      h("div", { class: "table-wrap table-scroll" }, this.table, this.empty));
  }

  async load() {
    const wanted = this.filter;
    // What the WebSocket says while the list is on its way is newer than the list: kept and
    // laid over it, or an incident opened meanwhile would vanish under a stale list.
    this.pushed = new Map();
    try {
      const reply = await api(`/api/incidents?status=${wanted.status}&limit=200`);
      if (wanted !== this.filter) return;
      this.items = new Map((reply.items || []).map((item) => [item.id, item]));
      this.total = reply.total ?? this.items.size;
      for (const view of this.pushed.values()) this.place(view);
      this.pushed = null;
      for (const item of this.items.values()) if (item.reminder_due) this.reminded.add(item.id);
      this.error = null;
    } catch (error) {
      this.error = error;
      this.pushed = null;
    }
    this.render();
  }

  setFilter(filter) {
    this.filter = filter;
    this.items = new Map();
    this.render();
    this.load();
  }

  belongs(view) {
    return !this.filter.statuses || this.filter.statuses.includes(view.status);
  }

  /** incident.opened / incident.updated / incident.reminder, or an action's reply. */
  upsert(view, { kind = "updated" } = {}) {
    if (!view || view.id === undefined || view.id === null) return;
    if (kind === "opened") {
      this.fresh.add(view.id);
      setTimeout(() => {
        this.fresh.delete(view.id);
        this.rowOf(view.id)?.classList.remove("is-new");
      }, NEW_FOR_MS);
      this.raise({ id: view.id, kind: "opened", view });
    }
    if (kind === "reminder") {
      this.reminded.add(view.id);
      this.raise({ id: view.id, kind: "reminder", view });
    }
    // The server's reminder_due says whether someone has acted since (acknowledged, progress).
    if (kind !== "reminder" && view.reminder_due === false && this.reminded.delete(view.id)) {
      this.alerts = this.alerts.filter((alert) => !(alert.id === view.id && alert.kind === "reminder"));
      this.renderAlerts();
    }
    if (kind !== "reminder" && view.reminder_due === true) this.reminded.add(view.id);
    if (!["open", "acknowledged"].includes(view.status)) {
      this.reminded.delete(view.id);
      this.alerts = this.alerts.filter((alert) => alert.id !== view.id);
      this.renderAlerts();
    }
    this.pushed?.set(view.id, view);
    this.place(view);
    this.render();
  }

  /** Put a view where its status says: in the list shown, or out of it. */
  place(view) {
    const before = this.items.get(view.id);
    if (this.belongs(view)) {
      if (!before) this.total += 1;
      this.items.set(view.id, { ...(before || {}), ...view });
    } else if (before) {
      this.items.delete(view.id);
      this.total = Math.max(0, this.total - 1);
    }
  }

  // --- the alert bar ----------------------------------------------------------------------

  raise(alert) {
    this.alerts = [alert, ...this.alerts.filter((a) => !(a.id === alert.id && a.kind === alert.kind))].slice(0, MAX_ALERTS);
    this.renderAlerts();
  }

  dismiss(alert) {
    this.alerts = this.alerts.filter((a) => a !== alert);
    this.renderAlerts();
  }

  renderAlerts() {
    fill(this.alertsEl, this.alerts.map((alert) => {
      const view = this.items.get(alert.id) || alert.view;
      const text = t(`it.alert.${alert.kind}`, { level: view.level, kind: word("kind", view.kind), location: placeText(view) });
      return h("div", {
        class: `alert alert-${alert.kind} alert-level-${view.level}`,
        attrs: { role: "alert", "data-test": `alert-${alert.kind}` },
        dataset: { id: String(view.id) },
      },
      levelBadge(view.level),
      h("span", { class: "alert-text", text }),
      h("button", { type: "button", class: "btn btn-small alert-open", text: t("it.alert.open"), on: { click: () => { this.dismiss(alert); this.board.openIncident(view.id); } } }),
      h("button", { type: "button", class: "alert-close", text: "×", attrs: { "aria-label": t("it.alert.dismiss"), title: t("it.alert.dismiss") }, on: { click: () => this.dismiss(alert) } }));
    }));
    this.alertsEl.hidden = this.alerts.length === 0;
    const active = this.alerts.filter((alert) => alert.kind === "opened").length;
    document.title = `${active ? `(${active}) ` : ""}callassist · ${t("it.page")}`;
  }

  // --- the table -------------------------------------------------------------------------

  rowOf(id) {
    return this.table.querySelector(`tr[data-id="${CSS.escape(String(id))}"]`);
  }

  render() {
    this.title.textContent = t("it.incidents");
    fill(this.tabs, FILTERS.map((filter) => h("button", {
      type: "button",
      class: `seg${filter === this.filter ? " seg-on" : ""}`,
      attrs: { role: "tab", "aria-selected": filter === this.filter ? "true" : "false", "data-filter": filter.id },
      text: t(`it.incidents.${filter.id}`),
      on: { click: () => { if (filter !== this.filter) this.setFilter(filter); } },
    })));
    const rows = [...this.items.values()].sort(compareIncidents);
    const levelOne = rows.filter((row) => row.level === "I" && ["open", "acknowledged"].includes(row.status)).length;
    fill(this.summary,
      this.filter.id === "active" ? t("it.incidents.count", { n: rows.length }) : String(rows.length),
      levelOne ? h("span", { class: "count-bad", text: ` · ${t("it.incidents.level_i", { n: levelOne })}` }) : null);
    this.summary.classList.toggle("count-bad", levelOne > 0);
    const selected = this.board.selectedIncident();
    fill(this.table,
      h("thead", {}, h("tr", {},
        ["level", "kind", "location", "age", "owner", "status", "signals"].map((id) => h("th", {
          class: id === "signals" || id === "age" ? "num" : "",
          attrs: { scope: "col" },
          text: t(`it.col.${id}`),
        })))),
      h("tbody", {}, rows.map((row) => this.renderRow(row, selected))));
    this.empty.hidden = rows.length > 0;
    const none = this.filter.id === "active" ? t("it.incidents.none") : t("it.incidents.none_filtered");
    this.empty.textContent = this.error ? `${t("it.load_failed", { what: t("it.incidents") })}: ${describeError(this.error)}` : none;
    this.empty.classList.toggle("error-text", Boolean(this.error));
    this.empty.classList.toggle("all-clear", !this.error && this.filter.id === "active");
  }

  renderRow(row, selected) {
    const reminded = this.reminded.has(row.id) && ["open", "acknowledged"].includes(row.status);
    const ended = row.status === "resolved" || row.status === "reviewed";
    const classes = [
      "incident-row",
      `level-row-${row.level}`,
      `status-row-${row.status}`,
      this.fresh.has(row.id) ? "is-new" : "",
      reminded ? "is-reminded" : "",
      selected === row.id ? "selected" : "",
    ].filter(Boolean).join(" ");
    const open = () => this.board.openIncident(row.id);
    return h("tr", {
      class: classes,
      tabIndex: 0,
      dataset: { id: String(row.id), level: row.level, status: row.status, location: row.location, pbx: row.pbx || "" },
      attrs: { "aria-label": `${t("it.level", { level: row.level })} ${word("kind", row.kind)} ${placeText(row)}` },
      on: { click: open, keydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); } } },
    },
    h("td", { class: "level-cell" }, levelBadge(row.level)),
    h("td", { class: "incident-kind" }, h("strong", { text: word("kind", row.kind) }),
      reminded ? h("span", { class: "reminder-flag", attrs: { "data-test": "reminder" }, text: t("it.reminder_due") }) : null),
    h("td", { class: "location", attrs: { title: row.summary || "" } }, row.location, pbxTag(row.pbx)),
    h("td", { class: "num" }, ended ? h("span", { class: "muted", text: "—" }) : ageNode(row.opened_at)),
    h("td", { class: row.owner ? "owner" : "owner muted", text: row.owner || t("it.owner.none") }),
    h("td", {}, h("span", { class: `badge istatus istatus-${row.status}`, text: word("status", row.status) }),
      row.recovered_at && !ended ? h("span", { class: "recovered-flag", attrs: { title: `${t("it.view.recovered_at")}: ${when(row.recovered_at)}` }, text: " ✓" }) : null),
    h("td", { class: "num", text: String(row.signals ?? 1) }));
  }
}

/** Active before finished, level I first, then newest first (as the server orders them). */
function compareIncidents(a, b) {
  const finished = (row) => (["open", "acknowledged"].includes(row.status) ? 0 : 1);
  return finished(a) - finished(b)
    || (finished(a) === 0 ? levelRank(a.level) - levelRank(b.level) : 0)
    || (b.opened_at || 0) - (a.opened_at || 0);
}
