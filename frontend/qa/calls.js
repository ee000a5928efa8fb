// The call list: a filter bar, a dense sortable table, paging, and the CSV export of exactly
// what the filters find. The form mirrors the URL; changing it makes a new URL.
import { h, fill } from "/shared/dom.js";
import { api, token, reportError, describeError, ApiError } from "/shared/api.js";
import { t, label, language } from "/shared/i18n.js";
import { CALL_FILTERS, OUTCOMES, PAGE_SIZES, callQuery, activeFilterCount } from "/qa/query.js";
import { formatDateTime, seconds, causeWords, endedBy, score, scoreLevel, otherPbx } from "/qa/format.js";

const COLUMNS = [
  { id: "started_at", sort: "started_at" },
  { id: "customer", sort: "customer" },
  { id: "agent", sort: "agent" },
  { id: "queue", sort: "queue" },
  { id: "outcome", sort: "outcome" },
  { id: "ended" },
  { id: "talk_seconds", sort: "talk_seconds", numeric: true },
  { id: "hold_seconds", sort: "hold_seconds", numeric: true },
  { id: "disposition" },
  { id: "score", sort: "score", numeric: true },
  { id: "flags" },
];
const DISPOSITIONS = ["resolved", "callback", "escalated", "complaint_filed", "no_action"];

export class CallList {
  constructor(root, review) {
    this.root = root;
    this.review = review;
    this.page = null; // the last reply: {query, items, total}
    this.loading = null;
    this.seen = { agent: new Set(), queue: new Set(), pbx: new Set(), disposition: new Set(DISPOSITIONS) };
    this.build();
  }

  build() {
    this.form = h("form", { class: "filters", attrs: { "aria-label": "filters", "data-test": "filters" }, on: { submit: (e) => this.apply(e) } });
    this.lists = {
      agent: h("datalist", { id: "agents-seen" }),
      queue: h("datalist", { id: "queues-seen" }),
      pbx: h("datalist", { id: "pbxes-seen" }),
      disposition: h("datalist", { id: "dispositions-seen" }),
    };
    this.summary = h("div", { class: "list-summary", attrs: { role: "status", "aria-live": "polite" } });
    this.csv = h("a", { class: "btn btn-small", id: "csv-export", attrs: { download: "calls.csv" }, on: { click: (e) => this.exportCsv(e) } });
    this.refreshButton = h("button", { type: "button", class: "btn btn-small", on: { click: () => this.load(this.review.state) } });
    this.pagerTop = h("div", { class: "pager" });
    this.pagerBottom = h("div", { class: "pager" });
    this.table = h("table", { class: "data calls-table", attrs: { "data-test": "calls" } });
    this.empty = h("p", { class: "list-empty muted", hidden: true });
    fill(this.root,
      this.form, this.lists.agent, this.lists.queue, this.lists.pbx, this.lists.disposition,
      h("div", { class: "list-bar" }, this.summary, h("div", { class: "list-tools" }, this.refreshButton, this.csv), this.pagerTop),
      h("div", { class: "table-wrap" }, this.table, this.empty),
      h("div", { class: "list-bar list-bar-bottom" }, this.pagerBottom));
  }

  render(state, { refetch = true } = {}) {
    this.renderForm(state);
    this.refreshButton.textContent = `⟳ ${t("list.refresh")}`;
    this.csv.textContent = `⤓ ${t("list.csv")}`;
    this.csv.href = `/api/calls.csv?${callQuery(state, { paged: false })}`;
    const query = callQuery(state);
    if (this.page && this.page.query === query) this.renderPage(state);
    else if (this.page) this.renderPage(state, { stale: true });
    if (refetch || !this.page || this.page.query !== query) this.load(state);
  }

  // --- the filter form -------------------------------------------------------------------

  /** Built once per language, then only given the URL's values: focus stays where it was. */
  renderForm(state) {
    if (this.formLanguage !== language()) {
      this.buildForm();
      this.formLanguage = language();
    }
    const f = state.filters;
    for (const key of CALL_FILTERS) {
      const input = this.form.elements.namedItem(key);
      if (input && input.value !== (f[key] || "")) input.value = f[key] || "";
    }
    const dropped = f.outcome === "dropped";
    this.droppedChip.classList.toggle("chip-on", dropped);
    this.droppedChip.setAttribute("aria-pressed", dropped ? "true" : "false");
    this.clearButton.disabled = !activeFilterCount(state);
  }

  buildForm() {
    const control = (key, input, { wide } = {}) => h("label", { class: `filter filter-${key}${wide ? " filter-wide" : ""}` },
      h("span", { class: "filter-label", text: t(`filters.${key}`) }), input);
    const text = (key, attrs = {}) => h("input", { name: key, attrs: { type: "text", autocomplete: "off", ...attrs }, on: { change: () => this.apply() } });
    const pick = (key, options) => h("select", { name: key, on: { change: () => this.apply() } },
      options.map(([value, words]) => h("option", { value, text: words })));
    const yesNo = [["", t("filters.any")], ["true", t("filters.yes")], ["false", t("filters.no")]];
    const number = (key) => h("input", { name: key, attrs: { type: "number", min: 0, max: 100, step: 1, inputmode: "numeric", placeholder: t(`filters.${key}`), "aria-label": `${t("filters.score")} ${t(`filters.${key}`)}` }, on: { change: () => this.apply() } });
    const date = (key) => h("input", { name: key, attrs: { type: "date" }, on: { change: () => this.apply() } });
    this.clearButton = h("button", { type: "button", class: "btn btn-small", text: t("filters.clear"), on: { click: () => this.clear() } });
    this.droppedChip = h("button", {
      type: "button",
      class: "btn btn-small chip",
      attrs: { "data-test": "dropped-chip" },
      text: t("filters.dropped"),
      on: { click: () => this.toggleDropped() },
    });
    // The PBX filter only where there is more than one PBX to tell apart.
    this.pbxControl = control("pbx", text("pbx", { list: "pbxes-seen", placeholder: t("filters.pbx_hint"), spellcheck: "false" }));
    this.showPbxFilter();
    fill(this.form,
      control("since", date("since")),
      control("until", date("until")),
      control("agent", text("agent", { list: "agents-seen", placeholder: t("filters.agent_hint") })),
      control("customer", text("customer", { inputmode: "tel" })),
      control("queue", text("queue", { list: "queues-seen" })),
      this.pbxControl,
      control("outcome", pick("outcome", [["", t("filters.any")], ...OUTCOMES.map((o) => [o, label("outcome", o)])])),
      control("has_callback", pick("has_callback", yesNo)),
      control("has_complaint", pick("has_complaint", yesNo)),
      control("disposition", text("disposition", { list: "dispositions-seen" })),
      h("div", { class: "filter filter-score", attrs: { role: "group", "aria-label": t("filters.score") } },
        h("span", { class: "filter-label", text: t("filters.score") }),
        h("span", { class: "score-range" }, number("score_min"), "–", number("score_max"))),
      control("q", text("q", { type: "search", placeholder: t("filters.q_hint") }), { wide: true }),
      h("div", { class: "filter-actions" },
        h("button", { type: "submit", class: "btn btn-primary btn-small", text: t("filters.apply") }),
        this.clearButton, this.droppedChip));
  }

  toggleDropped() {
    const filters = { ...this.review.state.filters };
    if (filters.outcome === "dropped") delete filters.outcome;
    else filters.outcome = "dropped";
    this.review.navigate({ filters, offset: 0, call: null });
  }

  fillDatalists() {
    for (const [key, list] of Object.entries(this.lists)) {
      fill(list, [...this.seen[key]].sort().map((value) => h("option", { value })));
    }
  }

  readForm() {
    const data = new FormData(this.form);
    const filters = {};
    for (const key of CALL_FILTERS) {
      const value = String(data.get(key) ?? "").trim();
      if (value) filters[key] = value;
    }
    return filters;
  }

  apply(event) {
    if (event) event.preventDefault();
    this.review.navigate({ filters: this.readForm(), offset: 0, call: null });
  }

  clear() {
    this.review.navigate({ filters: {}, offset: 0, call: null });
  }

  // --- loading ---------------------------------------------------------------------------

  async load(state) {
    const query = callQuery(state);
    if (this.loading) this.loading.abort();
    const controller = new AbortController();
    this.loading = controller;
    this.root.classList.add("is-loading");
    if (!this.page) fill(this.summary, t("list.loading"));
    try {
      const reply = await api(`/api/calls?${query}`, { signal: controller.signal });
      if (controller !== this.loading) return;
      this.page = { query, items: reply.items || [], total: reply.total || 0 };
      this.remember(this.page.items);
      if (!this.page.items.length && state.offset > 0 && this.page.total > 0) {
        // A page past the end (the filters found fewer calls): go to the last one.
        const last = Math.floor((this.page.total - 1) / state.limit) * state.limit;
        this.review.navigate({ offset: last }, { replace: true });
        return;
      }
      this.renderPage(this.review.state);
    } catch (error) {
      if (error && error.name === "AbortError") return;
      this.page = { query, items: [], total: 0, error };
      this.renderPage(this.review.state);
      if (!(error instanceof ApiError && error.status === 422)) reportError(error, t("list.none"));
    } finally {
      if (controller === this.loading) {
        this.loading = null;
        this.root.classList.remove("is-loading");
      }
    }
  }

  remember(items) {
    for (const item of items) {
      for (const agent of item.agents || []) this.seen.agent.add(agent);
      if (item.queue) this.seen.queue.add(item.queue);
      if (item.pbx) this.seen.pbx.add(item.pbx);
      if (item.disposition) this.seen.disposition.add(item.disposition);
    }
    this.fillDatalists();
    this.showPbxFilter();
  }

  showPbxFilter() {
    if (!this.pbxControl) return;
    const several = [...this.seen.pbx].some((pbx) => otherPbx(pbx));
    this.pbxControl.hidden = !several && !this.review.state?.filters?.pbx;
  }

  // --- the table ---------------------------------------------------------------------------

  renderPage(state, { stale = false } = {}) {
    const { items, total, error } = this.page;
    this.root.classList.toggle("is-stale", stale);
    const from = total ? state.offset + 1 : 0;
    const to = Math.min(state.offset + items.length, total);
    const count = activeFilterCount(state);
    fill(this.summary,
      h("strong", { attrs: { "data-test": "total" }, text: t("list.total", { from: from.toLocaleString(), to: to.toLocaleString(), total: total.toLocaleString() }) }),
      count ? h("span", { class: "muted", text: ` · ${t("filters.active", { n: count })}` }) : null);
    this.renderPager(this.pagerTop, state, total);
    this.renderPager(this.pagerBottom, state, total);
    fill(this.table, this.renderHead(state), h("tbody", {}, items.map((item) => this.renderRow(item))));
    this.empty.hidden = items.length > 0;
    this.empty.textContent = error ? describeError(error) : t("list.none");
    this.empty.classList.toggle("error-text", Boolean(error));
  }

  renderHead(state) {
    return h("thead", {}, h("tr", {}, COLUMNS.map((column) => {
      const title = t(`col.${column.id}`);
      if (!column.sort) return h("th", { class: column.numeric ? "num" : "", text: title, attrs: { scope: "col" } });
      const active = state.sort === column.sort;
      const order = active && state.order === "desc" ? "asc" : "desc";
      const arrow = active ? (state.order === "desc" ? "▼" : "▲") : "";
      return h("th", {
        class: `${column.numeric ? "num " : ""}sortable${active ? " sorted" : ""}`,
        attrs: { scope: "col", "aria-sort": active ? (state.order === "desc" ? "descending" : "ascending") : "none" },
      }, h("a", {
        href: this.review.href({ sort: column.sort, order, offset: 0 }),
        attrs: { "data-sort": column.sort, title: t("list.sort_by", { column: title }) },
        on: { click: (event) => this.review.follow(event, { sort: column.sort, order, offset: 0 }) },
      }, title, h("span", { class: "sort-arrow", attrs: { "aria-hidden": "true" }, text: arrow })));
    })));
  }

  renderRow(item) {
    const link = this.review.href({ call: item.id });
    const open = (event) => this.review.follow(event, { call: item.id });
    const live = item.status === "live";
    const outcome = live ? h("span", { class: "badge badge-live", text: t("list.live") })
      : h("span", { class: `badge outcome-${item.outcome}`, text: label("outcome", item.outcome) });
    const cause = item.hangup_cause !== null && item.hangup_cause !== undefined ? causeWords(item.hangup_cause) : "";
    const ended = live ? "" : [endedBy(item.ended_by), cause].filter(Boolean).join(" · ");
    return h("tr", {
      class: `call-row outcome-row-${item.outcome || "live"}`,
      dataset: { callId: item.call_id, id: String(item.id) },
      on: { click: (event) => { if (!event.target.closest("a")) this.review.navigate({ call: item.id }); } },
    },
    h("td", { class: "when" }, h("a", { href: link, text: formatDateTime(item.started_at, { seconds: true }), on: { click: open } }), this.pbxBadge(item)),
    h("td", { class: "number", text: item.customer || "—" }),
    h("td", { class: "agent", text: (item.agents && item.agents.length ? item.agents.join(", ") : item.agent) || "—" }),
    h("td", { text: item.queue || "—" }),
    h("td", {}, outcome),
    h("td", { class: "ended", text: ended || "—", attrs: { title: [ended, item.drop_reason].filter(Boolean).join(" — ") } }),
    h("td", { class: "num", text: seconds(item.talk_seconds) }),
    h("td", { class: "num", text: item.hold_seconds ? seconds(item.hold_seconds) : "—" }),
    h("td", { text: item.disposition ? label("disposition", item.disposition) : "—" }),
    h("td", { class: "num" }, h("span", { class: `score score-${scoreLevel(item.score)}`, text: score(item.score) })),
    h("td", {}, h("span", { class: "flags" }, this.flags(item))));
  }

  /** Which PBX the call was on, beside its time; nothing for the default PBX's calls. */
  pbxBadge(item) {
    const pbx = otherPbx(item.pbx);
    if (!pbx) return null;
    return h("span", { class: "badge badge-pbx", attrs: { "data-test": "pbx", title: t("pbx.title", { pbx }) }, text: pbx });
  }

  flags(item) {
    const flags = [];
    // Only a recording there is something in: a header-only WAV is no recording.
    if (item.recording_available) flags.push(h("span", { class: "flag flag-recording", attrs: { title: t("flag.recording"), "aria-label": t("flag.recording") }, text: "●" }));
    if (item.transfers) flags.push(h("span", { class: "flag", attrs: { title: t("flag.transfers", { n: item.transfers }) }, text: `⇄${item.transfers}` }));
    if (item.pops_missed) flags.push(h("span", { class: "flag flag-warn", attrs: { title: t("flag.pops_missed", { n: item.pops_missed }) }, text: `◌${item.pops_missed}` }));
    if (item.ended_in_gap) flags.push(h("span", { class: "flag flag-warn", attrs: { title: t("flag.gap") }, text: "≈" }));
    else if (item.events_missed) flags.push(h("span", { class: "flag flag-warn", attrs: { title: t("flag.events_missed") }, text: "≈" }));
    return flags;
  }

  renderPager(root, state, total) {
    const pages = Math.max(1, Math.ceil(total / state.limit));
    const page = Math.floor(state.offset / state.limit) + 1;
    const go = (n) => ({ offset: (Math.min(Math.max(n, 1), pages) - 1) * state.limit });
    const button = (text, titleKey, n, disabled) => disabled
      ? h("span", { class: "btn btn-small", attrs: { "aria-disabled": "true", title: t(titleKey) }, text })
      : h("a", { class: "btn btn-small", href: this.review.href(go(n)), attrs: { title: t(titleKey), "aria-label": t(titleKey), "data-page": titleKey.split(".")[1] }, on: { click: (e) => this.review.follow(e, go(n)) }, text });
    const sizes = h("select", {
      attrs: { "aria-label": t("list.per_page") },
      on: { change: (e) => this.review.navigate({ limit: Number(e.target.value), offset: 0 }) },
    }, PAGE_SIZES.map((n) => h("option", { value: String(n), text: String(n), selected: n === state.limit })));
    fill(root,
      button("«", "list.first", 1, page <= 1),
      button("‹", "list.prev", page - 1, page <= 1),
      h("span", { class: "pager-page", text: t("list.page", { page, pages }) }),
      button("›", "list.next", page + 1, page >= pages),
      button("»", "list.last", pages, page >= pages),
      h("label", { class: "pager-size" }, h("span", { text: t("list.per_page") }), sizes));
  }

  // --- CSV ---------------------------------------------------------------------------------

  /** A plain link cannot send the bearer header: fetch the file with it and save it. */
  async exportCsv(event) {
    event.preventDefault();
    if (this.csv.getAttribute("aria-busy") === "true") return;
    const url = this.csv.href;
    this.csv.setAttribute("aria-busy", "true");
    this.csv.textContent = t("list.csv_busy");
    try {
      const reply = await fetch(url, { headers: { Authorization: `Bearer ${token()}` } });
      if (!reply.ok) {
        let body = null;
        try { body = await reply.json(); } catch { body = null; }
        throw new ApiError(reply.status, body);
      }
      const blob = await reply.blob();
      const objectUrl = URL.createObjectURL(blob);
      const save = h("a", { href: objectUrl, attrs: { download: csvName() } });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(objectUrl), 10_000);
    } catch (error) {
      reportError(error, t("list.csv_failed"));
    } finally {
      this.csv.removeAttribute("aria-busy");
      this.csv.textContent = `⤓ ${t("list.csv")}`;
    }
  }
}

function csvName() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `calls-${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}.csv`;
}
