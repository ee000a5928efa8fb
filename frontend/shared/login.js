// The login form every page shows when it has no valid token.
import { h, fill } from "/shared/dom.js";
import { logIn, describeError } from "/shared/api.js";
import { t } from "/shared/i18n.js";

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
