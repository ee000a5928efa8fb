// The PBX link in the top bar and the table of endpoints and trunks. The REST answers are
// the truth; line.status and line.fault messages change a row at once in between, and a
// fault also asks for a fresh answer (a fault can change more than the one row says).
// "Last fault" is the last fault: a recovery changes the state, never that column.
import { h, fill } from "/shared/dom.js";
import { api, describeError } from "/shared/api.js";
import { t } from "/shared/i18n.js";
import { relativeNode, when, word, milliseconds, now, pbxTag } from "/it/format.js";

const FAULT_STATES = { unreachable: "unreachable", unregistered: "unregistered" };
const REFETCH_AFTER_FAULT_MS = 700;

/** Every PBX's link pill: the first in the page's own element (with the PBX check's banner
 *  and the instances line), another one beside it for each other PBX the status names. */
export class PbxLinks {
  constructor(el) {
    this.first = new PbxLink(el);
    this.others = new Map(); // PBX name -> its PbxLink, in the order the status lists them
  }

  of(name) {
    if (!name || name === "default" || name === this.first.name) return this.first;
    if (!this.others.has(name)) {
      const last = [...this.others.values()].at(-1)?.el || this.first.instances;
      const el = h("div", { class: "pbx-link", attrs: { role: "status", "data-test": "pbx-link" } });
      last.after(el);
      this.others.set(name, new PbxLink(el, { name }));
    }
    return this.others.get(name);
  }

  get all() {
    return [this.first, ...this.others.values()];
  }

  get state() {
    return this.first.state;
  }

  /** /api/status: each PBX's link; the checks' problems under the bar, each named. */
  setStatus(status) {
    const pbxes = status.pbxes || [];
    if (pbxes.length <= 1) {
      this.first.set(status.ami);
      this.first.setCheck(status.pbx);
    } else {
      this.first.name = pbxes[0].pbx;
      pbxes.forEach((pbx) => this.of(pbx.pbx).set(pbx.ami));
      this.first.setChecks(pbxes);
    }
    this.first.setInstances(status);
  }

  /** The snapshot's one word is every PBX's at once: it stands for the one PBX only. */
  setWord(status) {
    if (this.others.size === 0) this.first.setWord(status);
  }

  isUp() {
    return this.all.every((link) => link.isUp());
  }

  /** /api/lines's link: the first that is not up of every PBX's; for the one PBX only. */
  setLink(link) {
    if (this.others.size === 0) this.first.set(link);
  }

  render() {
    this.all.forEach((link) => link.render());
  }
}

/** The AMI link pill: "PBX link · connected · 127.0.0.1:5038 · since 10:02"; on a PBX
 *  other than the default one, "PBX south · connected · ...". */
export class PbxLink {
  constructor(el, { name = null } = {}) {
    this.el = el;
    this.name = name; // null: the first PBX, labelled as the one PBX always was
    this.state = null; // /api/status "ami" (or /api/lines "link")
    if (name) return; // the first pill carries the check's banner and the instances line
    this.serving = null; // /api/status "pbxes" and "redis": which instance owns, serves
    // /api/status "pbx": what the PBX lacks (AMI permissions, dialplan), shown under the bar.
    this.problems = h("div", { class: "banner banner-offline pbx-problems", hidden: true,
      attrs: { role: "status", "data-test": "pbx-problems" } });
    this.problems.style.textAlign = "left";
    this.el.closest("header")?.after(this.problems);
    // Which instance owns the PBX and which serves this page, where several may run.
    this.instances = h("span", { class: "pbx-instances", hidden: true,
      attrs: { "data-test": "pbx-instances", title: t("it.instances.title") } });
    this.el.after(this.instances);
  }

  /** /api/status's "pbxes" and "redis": shown only where several instances may run (a
   *  PostgreSQL lock decides the PBX's owner, or Redis relays between instances). */
  setInstances(status) {
    this.serving = { pbxes: status.pbxes, redis: status.redis };
    this.renderInstances();
  }

  renderInstances() {
    const pbx = (this.serving?.pbxes || [])[0];
    const redis = this.serving?.redis || {};
    const several = Boolean(pbx?.locked || redis.configured);
    this.instances.hidden = !several;
    if (!several) return;
    const relay = redis.configured
      ? h("span", { class: redis.connected ? "pbx-since" : "pbx-error",
        text: t(redis.connected ? "it.instances.redis_up" : "it.instances.redis_down") })
      : null;
    fill(this.instances,
      h("span", { text: t("it.instances.owner", { owner: pbx?.owner || t("it.instances.nobody") }) }),
      h("span", { class: "pbx-since", text: t("it.instances.here", { instance: pbx?.instance || "?" }) }),
      relay);
  }

  /** The PBX check: nothing when it passed, else each problem as the server words it. */
  setCheck(check) {
    this.showProblems(check && !check.ok ? check.problems || [] : []);
  }

  /** Several PBXs' checks: each problem named with its PBX. */
  setChecks(pbxes) {
    const problems = pbxes.flatMap((pbx) => (pbx.check && !pbx.check.ok ? pbx.check.problems || [] : [])
      .map((problem) => `${t("it.pbx_tag", { pbx: pbx.pbx })}: ${problem}`));
    this.showProblems(problems);
  }

  showProblems(problems) {
    this.problems.hidden = problems.length === 0;
    fill(this.problems,
      h("span", { text: t("it.pbx.check") }),
      h("ul", {}, problems.map((problem) => h("li", { text: problem }))));
  }

  /** A LinkStatus from the server. */
  set(state) {
    if (!state) return;
    this.state = { ...state };
    this.render();
  }

  /** The snapshot's one word ("connected", "down", ...). */
  setWord(status) {
    if (!status) return;
    this.state = { ...(this.state || {}), status };
    this.render();
  }

  up(at) {
    this.state = { ...(this.state || {}), status: "connected", connected_since: at || now(), down_since: null, last_error: null };
    this.render();
  }

  down(at, reason) {
    this.state = { ...(this.state || {}), status: "down", down_since: at || now(), last_error: reason || null };
    this.render();
  }

  isUp() {
    return this.state?.status === "connected";
  }

  render() {
    const state = this.state || {};
    const status = state.status || "unknown";
    const up = status === "connected";
    const bad = status === "down" || status === "disconnected" || status === "failed";
    this.el.hidden = false;
    this.el.className = `pbx-link ${up ? "pbx-up" : bad ? "pbx-down" : "pbx-other"}`;
    this.el.dataset.status = status;
    this.el.title = [t("it.pbx.title"), state.address, state.last_error].filter(Boolean).join(" — ");
    this.el.dataset.pbx = this.name || "";
    const since = up ? state.connected_since : state.down_since;
    const label = this.name && this.name !== "default" ? t("it.pbx_tag", { pbx: this.name }) : t("it.pbx");
    fill(this.el,
      h("span", { class: "dot", attrs: { "aria-hidden": "true" } }),
      h("span", { class: "pbx-label", text: label }),
      h("strong", { class: "pbx-status", text: t(`it.pbx.${status.replaceAll(" ", "_")}`, {}, status) }),
      state.address ? h("span", { class: "pbx-address", text: state.address }) : null,
      since ? h("span", { class: "pbx-since", text: t("it.pbx.since", { time: when(since) }) }) : null,
      !up && state.last_error ? h("span", { class: "pbx-error", text: state.last_error }) : null);
    if (this.instances) this.renderInstances();
  }
}

export class LinesTable {
  constructor(root, board) {
    this.root = root;
    this.board = board;
    this.endpoints = new Map(); // lineKey -> view, with its last_fault from the server
    this.error = null;
    this.loadedAt = null;
    this.refetchTimer = null;
    this.flash = new Set();
    this.summary = h("span", { class: "card-count", attrs: { "data-test": "lines-summary" } });
    this.table = h("table", { class: "data lines-table", attrs: { "data-test": "endpoints" } });
    this.empty = h("p", { class: "card-empty muted", hidden: true });
    this.title = h("h2", {});
    this.refreshButton = h("button", { type: "button", class: "btn btn-small", on: { click: () => this.load() } });
    fill(this.root,
      h("div", { class: "card-head" }, this.title, this.summary, this.refreshButton),
      h("div", { class: "table-wrap table-scroll" }, this.table, this.empty));
  }

  async load() {
    try {
      const reply = await api("/api/lines");
      this.error = null;
      const seen = new Map();
      for (const view of reply.endpoints || []) {
        const known = this.endpoints.get(lineKey(view.pbx, view.endpoint));
        seen.set(lineKey(view.pbx, view.endpoint), { ...view, last_fault: view.last_fault || known?.last_fault || null });
      }
      this.endpoints = seen;
      this.loadedAt = now();
      if (reply.link) this.board.pbx.setLink(reply.link);
    } catch (error) {
      this.error = error;
    }
    this.render();
  }

  /** line.status: one endpoint's new view. */
  status(view) {
    if (!view || !view.endpoint) return;
    const key = lineKey(view.pbx, view.endpoint);
    const known = this.endpoints.get(key);
    this.endpoints.set(key, { ...(known || {}), ...view, last_fault: view.last_fault || known?.last_fault || null });
    this.mark(key);
    this.render();
  }

  /** line.fault: the state a fault implies, at once; then the server's truth. */
  fault(message) {
    if (!message.location) return;
    const location = lineKey(message.pbx, message.location);
    const known = this.endpoints.get(location);
    if (known) {
      const recovered = message.fault === "recovered";
      const row = recovered ? { ...known } : { ...known, last_fault: { fault: message.fault, at: message.at, detail: message.detail } };
      if (FAULT_STATES[message.fault] && row.state !== FAULT_STATES[message.fault]) {
        row.state = FAULT_STATES[message.fault];
        row.roundtrip_ms = null;
        row.last_change_at = message.at || now();
      } else if (recovered && FAULT_STATES[row.state]) {
        row.state = "reachable";
        row.last_change_at = message.at || now();
      }
      this.endpoints.set(location, row);
      this.mark(location);
      this.render();
    }
    clearTimeout(this.refetchTimer);
    this.refetchTimer = setTimeout(() => this.load(), REFETCH_AFTER_FAULT_MS);
  }

  mark(key) {
    this.flash.add(key);
    setTimeout(() => {
      this.flash.delete(key);
      const row = this.table.querySelector(`tr[data-line="${CSS.escape(key)}"]`);
      if (row) row.classList.remove("changed");
    }, 4000);
  }

  render() {
    this.title.textContent = t("it.lines");
    this.refreshButton.textContent = `⟳ ${t("it.refresh")}`;
    const rows = [...this.endpoints.values()].sort(compareEndpoints);
    const reachable = rows.filter((row) => row.state === "reachable").length;
    this.summary.textContent = rows.length ? t("it.lines.summary", { reachable, total: rows.length }) : "";
    this.summary.classList.toggle("count-bad", reachable < rows.length);
    fill(this.table,
      h("thead", {}, h("tr", {},
        ["endpoint", "type", "agent", "state", "rtt", "last_change", "last_fault"].map((id) => h("th", {
          class: id === "rtt" ? "num" : "",
          attrs: { scope: "col" },
          text: t(`it.col.${id}`),
        })))),
      h("tbody", {}, rows.map((row) => this.renderRow(row))));
    this.empty.hidden = rows.length > 0;
    this.empty.textContent = this.error ? `${t("it.load_failed", { what: t("it.lines") })}: ${describeError(this.error)}` : t("it.lines.none");
    this.empty.classList.toggle("error-text", Boolean(this.error));
  }

  renderRow(row) {
    const state = row.state || "unknown";
    const fault = row.last_fault;
    const key = lineKey(row.pbx, row.endpoint);
    return h("tr", {
      class: `line-row line-${state} kind-${row.kind || "agent"}${this.flash.has(key) ? " changed" : ""}`,
      dataset: { endpoint: row.endpoint, line: key, pbx: row.pbx || "default", state, kind: row.kind || "" },
    },
    h("td", { class: "endpoint" }, row.endpoint, pbxTag(row.pbx)),
    h("td", {}, h("span", { class: `tag type-${row.kind}`, text: word("type", row.kind) })),
    h("td", { class: "agent-name", text: row.agent || "—" }),
    h("td", { class: "state-cell" }, h("span", { class: `line-state state-${state}` },
      h("span", { class: "dot", attrs: { "aria-hidden": "true" } }), word("state", state))),
    h("td", { class: "num rtt", text: state === "reachable" ? milliseconds(row.roundtrip_ms) : "—" }),
    h("td", { class: "changed-at" }, relativeNode(row.last_change_at)),
    h("td", { class: "last-fault" }, fault
      ? h("span", { class: `fault fault-${fault.fault}`, attrs: { title: [when(fault.at), fault.detail].filter((x) => x !== null && x !== undefined && x !== "").join(" · ") } },
        word("fault", fault.fault), relativeNode(fault.at, { className: "ago fault-when" }))
      : h("span", { class: "muted", text: "—" })));
  }
}

/** A line among every PBX's: an endpoint names a phone or trunk on one PBX. */
function lineKey(pbx, endpoint) {
  return `${pbx || "default"}|${endpoint}`;
}

/** Trouble first, then trunks before phones, then by name. */
function compareEndpoints(a, b) {
  const trouble = (row) => (row.state === "reachable" ? 2 : row.state === "unknown" ? 1 : 0);
  return trouble(a) - trouble(b)
    || (a.kind === "trunk" ? 0 : 1) - (b.kind === "trunk" ? 0 : 1)
    || String(a.endpoint).localeCompare(String(b.endpoint), undefined, { numeric: true });
}
