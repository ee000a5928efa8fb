// The QA review page: log in, then one of three views chosen by the URL — the call list,
// one call, or the complaints. Every change of view, filter, sort or page is a new URL
// (pushState), so back/forward and shared links restore exactly what was on the screen.
import "/qa/strings.js";
import { h, fill, show } from "/shared/dom.js";
import { token, forgetToken, logOut, onUnauthorized, notify } from "/shared/api.js";
import { t, initLanguage, language, onLanguageChange, translatePage } from "/shared/i18n.js";
import { showLogin, whoAmI, setUpLanguageSwitch } from "/shared/login.js";
import { readState, writeState } from "/qa/query.js";
import { CallList } from "/qa/calls.js";
import { CallView } from "/qa/call.js";
import { ComplaintsView } from "/qa/complaints.js";

const REVIEWERS = new Set(["qa", "supervisor", "admin"]);
const VIEWS = ["login", "calls", "call", "complaints"];
const $ = (id) => document.getElementById(id);

class Review {
  constructor(me) {
    this.me = me;
    this.canReview = REVIEWERS.has(me.role);
    this.state = readState(location.search);
    this.views = {
      calls: new CallList($("view-calls"), this),
      call: new CallView($("view-call"), this),
      complaints: new ComplaintsView($("view-complaints"), this),
    };
  }

  start() {
    window.addEventListener("popstate", () => {
      this.state = readState(location.search);
      this.render();
    });
    onLanguageChange(() => this.render({ refetch: false }));
    this.renderChrome();
    this.render();
  }

  /** The URL of the state changed by `patch` (for links: a reviewer can open it in a new tab). */
  href(patch) {
    return `/qa/${writeState({ ...this.state, ...patch })}`;
  }

  /** Go to a new state: a new history entry unless `replace`. */
  navigate(patch, { replace = false } = {}) {
    const next = { ...this.state, ...patch };
    const url = `/qa/${writeState(next)}`;
    if (url !== `${location.pathname}${location.search}`) {
      history[replace ? "replaceState" : "pushState"](null, "", url);
    }
    this.state = readState(location.search);
    this.render();
  }

  /** A click on a link to another state of this page: no reload, a history entry. */
  follow(event, patch) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    this.navigate(patch);
  }

  current() {
    if (this.state.view === "complaints") return "complaints";
    return this.state.call ? "call" : "calls";
  }

  render({ refetch = true } = {}) {
    const name = this.current();
    document.body.dataset.view = name;
    for (const view of VIEWS) show($(`view-${view}`), view === name);
    $("nav-calls").classList.toggle("active", name !== "complaints");
    $("nav-complaints").classList.toggle("active", name === "complaints");
    $("nav-calls").href = this.href({ view: "calls", call: null, complaint: null });
    $("nav-complaints").href = this.href({ view: "complaints", call: null });
    this.views[name].render(this.state, { refetch });
    document.title = `callassist · ${t("qa.page")}`;
  }

  renderChrome() {
    show($("nav"), true);
    show($("logout"), true);
    show($("who"), true);
    fill($("who"), h("span", { class: "who-name", text: this.me.display_name || this.me.username }),
      h("span", { class: "who-endpoint", text: this.me.role }));
    $("nav-calls").onclick = (event) => this.follow(event, { view: "calls", call: null, complaint: null });
    $("nav-complaints").onclick = (event) => this.follow(event, { view: "complaints", call: null });
  }
}

let review = null;

async function login(message) {
  document.body.dataset.view = "login";
  for (const view of VIEWS) show($(`view-${view}`), view === "login");
  await showLogin($("view-login"), { titleKey: "login.title_qa", message });
}

async function begin() {
  if (!token()) await login();
  const me = await whoAmI();
  if (!me) {
    await login(t("login.expired"));
    return begin();
  }
  if (!REVIEWERS.has(me.role)) notify(t("qa.not_reviewer", { role: me.role }), { kind: "warning", sticky: true });
  review = new Review(me);
  review.start();
  return review;
}

let relogging = false;

async function relogin() {
  if (relogging) return;
  relogging = true;
  forgetToken();
  await login(t("login.expired"));
  location.reload();
}

function main() {
  initLanguage();
  translatePage();
  setUpLanguageSwitch($("language"));
  $("logout").addEventListener("click", async () => {
    await logOut();
    location.reload();
  });
  onUnauthorized(() => {
    if (review) relogin();
  });
  begin();
  window.callassistReview = () => review; // for the browser tests and for debugging
}

main();
