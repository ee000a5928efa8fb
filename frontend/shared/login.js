// The login form every page shows when it has no valid token.
import { h, fill } from "/shared/dom.js";
import { api, logIn, describeError, reportError, ApiError, NetworkError } from "/shared/api.js";
import { t, language, setLanguage, LANGUAGES, onLanguageChange, translatePage } from "/shared/i18n.js";

const RETRY_MS = 3000;

/**
 * Who is logged in: null when the token is no longer good; any other failure is shown and
 * tried again. With `offlineKey`, the last answer is kept in sessionStorage and serves a
 * reload while the network is down (the agent console must come back offline).
 */
export async function whoAmI({ offlineKey = null } = {}) {
  for (;;) {
    try {
      const me = await api("/api/me");
      if (offlineKey) sessionStorage.setItem(offlineKey, JSON.stringify(me));
      return me;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      const cached = offlineKey ? readJson(sessionStorage, offlineKey) : null;
      if (cached && error instanceof NetworkError) return cached;
      reportError(error, t("error.start"));
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

function readJson(storage, key) {
  try {
    return JSON.parse(storage.getItem(key) || "null");
  } catch {
    return null;
  }
}

/** The language <select> in the top bar: fills it, follows it, and re-translates the page. */
export function setUpLanguageSwitch(select) {
  fill(select, LANGUAGES.map((l) => h("option", { value: l.id, text: l.label, selected: l.id === language() })));
  select.addEventListener("change", () => setLanguage(select.value));
  onLanguageChange(() => {
    select.value = language();
    translatePage();
  });
}

/** Render the form into `root`; resolves once the user has logged in. */
export function showLogin(root, { titleKey, message } = {}) {
  return new Promise((resolve) => {
    const username = h("input", { id: "login-username", name: "username", autocomplete: "username", required: true, autofocus: true });
    const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const error = h("p", { class: "login-error", attrs: { role: "alert" } }, message || "");
    const button = h("button", { type: "submit", class: "btn btn-primary btn-large", text: t("login.submit"), dataset: { i18n: "login.submit" } });
    const form = h("form", {
      class: "login-card",
      on: {
        submit: async (event) => {
          event.preventDefault();
          button.disabled = true;
          error.textContent = "";
          try {
            await logIn(username.value.trim(), password.value);
            resolve();
          } catch (failure) {
            error.textContent = failure.status === 401 ? t("login.wrong") : describeError(failure);
            password.select();
          } finally {
            button.disabled = false;
          }
        },
      },
    },
    h("h1", { class: "login-title" }, h("span", { class: "brand-mark", attrs: { "aria-hidden": "true" } }, "◉"), " callassist"),
    titleKey ? h("p", { class: "muted", text: t(titleKey), dataset: { i18n: titleKey } }) : null,
    h("label", { attrs: { for: "login-username" }, text: t("login.username"), dataset: { i18n: "login.username" } }), username,
    h("label", { attrs: { for: "login-password" }, text: t("login.password"), dataset: { i18n: "login.password" } }), password,
    error,
    button);
    fill(root, form);
    username.focus();
  });
}
