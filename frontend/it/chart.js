// Drop rate per trunk over the last 24 hours: one small SVG bar chart per trunk, drawn here
// (no chart library). Each hour is a bar as tall as its calls, its dropped calls in red from
// the bottom, so the rate is the red share of the bar; the exact figures are in each bar's
// tooltip and the totals above the chart.
import { h, fill } from "/shared/dom.js";
import { api, describeError } from "/shared/api.js";
import { t } from "/shared/i18n.js";
import { hour, percent, now } from "/it/format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 520;
const HEIGHT = 128;
const PAD = { left: 30, right: 6, top: 8, bottom: 18 };
const LABEL_EVERY_HOURS = 6;
const HOURS = 24;
const BUCKET_MINUTES = 60;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  for (const child of children.flat()) if (child) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

export class DropChart {
  constructor(root) {
    this.root = root;
    this.reply = null;
    this.error = null;
    this.title = h("h2", {});
    this.summary = h("span", { class: "card-count", attrs: { "data-test": "drops-summary" } });
    this.refreshButton = h("button", { type: "button", class: "btn btn-small", on: { click: () => this.load() } });
    this.body = h("div", { class: "drop-charts", attrs: { "data-test": "drop-charts" } });
    fill(this.root, h("div", { class: "card-head" }, this.title, this.refreshButton), this.summary, this.body);
  }

  async load() {
    try {
      this.reply = await api(`/api/lines/drop-rates?hours=${HOURS}&bucket_minutes=${BUCKET_MINUTES}`);
      this.error = null;
    } catch (error) {
      this.error = error;
    }
    this.render();
  }

  render() {
    this.title.textContent = t("it.drops");
    this.refreshButton.textContent = `⟳ ${t("it.refresh")}`;
    if (this.error) {
      this.summary.textContent = "";
      fill(this.body, h("p", { class: "card-empty error-text", text: `${t("it.load_failed", { what: t("it.drops") })}: ${describeError(this.error)}` }));
      return;
    }
    if (!this.reply) return;
    const trunks = [...(this.reply.trunks || [])].sort((a, b) => String(a.trunk).localeCompare(String(b.trunk), undefined, { numeric: true }));
    const calls = trunks.reduce((sum, trunk) => sum + (trunk.calls || 0), 0);
    const dropped = trunks.reduce((sum, trunk) => sum + (trunk.dropped || 0), 0);
    this.summary.textContent = trunks.length ? t("it.drops.all", { calls, dropped, rate: percent(dropped, calls) }) : "";
    this.summary.classList.toggle("count-bad", dropped > 0);
    if (!trunks.length) {
      fill(this.body, h("p", { class: "card-empty muted", text: t("it.drops.none") }));
      return;
    }
    fill(this.body,
      h("div", { class: "chart-legend", attrs: { "aria-hidden": "true" } },
        h("span", { class: "legend-dropped" }, h("i", {}), t("it.drops.legend_rate")),
        h("span", { class: "legend-calls" }, h("i", {}), t("it.drops.legend_calls"))),
      trunks.map((trunk) => this.renderTrunk(trunk)));
  }

  renderTrunk(trunk) {
    const rate = percent(trunk.dropped || 0, trunk.calls || 0);
    return h("figure", { class: "trunk-chart", dataset: { trunk: trunk.trunk, calls: String(trunk.calls || 0), dropped: String(trunk.dropped || 0) } },
      h("figcaption", {},
        h("strong", { class: "trunk-name", text: trunk.trunk }),
        h("span", { class: `trunk-totals${trunk.dropped ? " has-drops" : ""}`, text: t("it.drops.totals", { calls: trunk.calls || 0, dropped: trunk.dropped || 0, rate }) })),
      this.drawBars(trunk));
  }

  /** The slots of the window, oldest first, each {start, calls, dropped}. */
  slots(trunk) {
    const reply = this.reply;
    const step = Number(reply.bucket_seconds) || BUCKET_MINUTES * 60;
    const until = Number(reply.until) || now();
    const since = Number(reply.since) || until - HOURS * 3600;
    const count = Math.max(1, Math.min(24 * 7, Math.ceil((until - since) / step)));
    const slots = Array.from({ length: count }, (_, i) => ({ start: since + i * step, calls: 0, dropped: 0 }));
    for (const bucket of trunk.buckets || []) {
      const index = Math.floor((Number(bucket.start) - since) / step + 1e-6);
      if (index < 0 || index >= count) continue;
      slots[index].calls += bucket.calls || 0;
      slots[index].dropped += bucket.dropped || 0;
    }
    return { slots, step };
  }

  /**
   * The rate is what IT watches, so it has the axis (red bars, in %); the hour's calls stand
   * behind each as a pale bar on their own scale (the legend gives its top), so a 100 % hour
   * of one call is told from a 10 % hour of fifty.
   */
  drawBars(trunk) {
    const { slots, step } = this.slots(trunk);
    const rates = slots.map((slot) => (slot.calls ? (100 * slot.dropped) / slot.calls : 0));
    const top = niceRate(Math.max(...rates));
    const busiest = Math.max(1, ...slots.map((slot) => slot.calls));
    const plotWidth = WIDTH - PAD.left - PAD.right;
    const plotHeight = HEIGHT - PAD.top - PAD.bottom;
    const slotWidth = plotWidth / slots.length;
    const callsWidth = Math.max(2, slotWidth * 0.8);
    const rateWidth = Math.max(2, slotWidth * 0.46);
    const y = (percentValue) => PAD.top + plotHeight - (Math.min(percentValue, top) / top) * plotHeight;
    const yCalls = (calls) => PAD.top + plotHeight - (calls / busiest) * plotHeight;
    const grid = [0, top / 2, top].map((value) => svg("g", { class: "grid" },
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      svg("text", { x: PAD.left - 4, y: y(value) + 3.5, "text-anchor": "end" }, `${formatCount(value)}%`)));
    const bars = slots.map((slot, i) => {
      const left = PAD.left + i * slotWidth;
      const tip = t("it.drops.bar", { from: hour(slot.start), to: hour(slot.start + step), calls: slot.calls, dropped: slot.dropped, rate: percent(slot.dropped, slot.calls) });
      return svg("g", { class: `bar${slot.dropped ? " bar-dropped" : ""}`, "data-start": slot.start, "data-calls": slot.calls, "data-dropped": slot.dropped },
        svg("title", {}, tip),
        // a hit area the full height, so even an empty hour shows its tooltip
        svg("rect", { class: "bar-hit", x: left, y: PAD.top, width: slotWidth, height: plotHeight }),
        slot.calls ? svg("rect", { class: "bar-calls", x: left + (slotWidth - callsWidth) / 2, y: yCalls(slot.calls), width: callsWidth, height: Math.max(1, y(0) - yCalls(slot.calls)), rx: 1.5 }) : null,
        slot.dropped ? svg("rect", { class: "bar-drops", x: left + (slotWidth - rateWidth) / 2, y: y(rates[i]), width: rateWidth, height: Math.max(2, y(0) - y(rates[i])), rx: 1 }) : null);
    });
    const labels = slots.map((slot, i) => {
      const last = i === slots.length - 1;
      if (i % LABEL_EVERY_HOURS !== 0 && !last) return null;
      if (!last && slots.length - 1 - i < LABEL_EVERY_HOURS / 2) return null; // would touch the last one
      const x = PAD.left + i * slotWidth + (last ? slotWidth : 0);
      return svg("text", { class: "x-label", x, y: HEIGHT - 4, "text-anchor": last ? "end" : "start" }, hour(last ? slot.start + step : slot.start));
    });
    return svg("svg", {
      class: "drop-chart",
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-label": `${trunk.trunk}: ${t("it.drops.totals", { calls: trunk.calls || 0, dropped: trunk.dropped || 0, rate: percent(trunk.dropped || 0, trunk.calls || 0) })}`,
      "data-trunk": trunk.trunk,
    },
    grid,
    svg("line", { class: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) }),
    bars,
    labels);
  }
}

/** The top of the rate axis, in %: 10, 20, 50 or 100, whose half is round too. */
function niceRate(value) {
  for (const top of [10, 20, 50]) if (value <= top) return top;
  return 100;
}

function formatCount(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
