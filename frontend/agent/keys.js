// Keyboard first: an agent talking on a headset keeps both hands on the keys.
//   Enter          next step (not in a multi-line box, not on a button)
//   Alt+Backspace  previous step
//   Alt+<key>      the branch with that key (Complaint Alt+C, ...), from anywhere
//   Alt+R          refer to the department (look-up steps)
//   Alt+N          the notes box
//   Alt+1..9       wrap-up: choose a disposition;  Ctrl+Enter: submit the wrap-up
//   Alt+K          idle: run the shift check again
import { IDLE, ON_CALL, WRAP_UP } from "/agent/state.js";

function composing(event) {
  return event.isComposing || event.keyCode === 229; // an IME (pinyin) is still choosing
}

function letterOf(event) {
  const match = /^Key([A-Z])$/.exec(event.code || "");
  return match ? match[1].toLowerCase() : null; // the physical key: Alt on macOS changes .key
}

function digitOf(event) {
  const match = /^(?:Digit|Numpad)([0-9])$/.exec(event.code || "");
  return match ? Number(match[1]) : null;
}

function entersNext(target) {
  if (!(target instanceof Element)) return true;
  if (target.closest("textarea, button, a, select, [contenteditable]")) return false;
  if (target.closest(".topbar, .login-card")) return false;
  return true;
}

/** handlers: {state(), oncall: OnCallView, wrapup: WrapUpView, recheck()} */
export function installKeys(handlers) {
  document.addEventListener("keydown", (event) => {
    if (composing(event) || event.defaultPrevented) return;
    const state = handlers.state();
    const onlyAlt = event.altKey && !event.ctrlKey && !event.metaKey;
    if (state === ON_CALL) {
      if (onlyAlt && event.key === "Backspace") return done(event, handlers.oncall.back());
      if (onlyAlt) {
        const letter = letterOf(event);
        if (letter && handlers.oncall.branchByKey(letter)) return done(event);
        if (letter === "r") return done(event, handlers.oncall.refer());
        if (letter === "n") return done(event, handlers.oncall.focusNotes());
      }
      if (event.key === "Enter" && !event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey && entersNext(event.target)) {
        return done(event, handlers.oncall.next());
      }
    } else if (state === WRAP_UP) {
      const digit = digitOf(event);
      if (onlyAlt && digit) return done(event, handlers.wrapup.choose(digit));
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) return done(event, handlers.wrapup.submit());
      if (event.key === "Enter" && !event.altKey && !event.shiftKey && entersNext(event.target)) {
        return done(event, handlers.wrapup.submit());
      }
    } else if (state === IDLE && onlyAlt && letterOf(event) === "k") {
      return done(event, handlers.recheck());
    }
    return undefined;
  });
}

function done(event) {
  event.preventDefault();
  event.stopPropagation();
}
