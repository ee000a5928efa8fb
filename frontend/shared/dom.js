// Building DOM nodes without a framework: one small element factory, so views stay readable.

/**
 * h("button", {class: "btn", on: {click}, attrs: {"aria-label": "x"}}, "text", child)
 * Props other than class/text/on/attrs/dataset are set as element properties.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (name === "attrs") for (const [a, v] of Object.entries(value)) {
      if (v !== undefined && v !== null && v !== false) el.setAttribute(a, v === true ? "" : String(v));
    }
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el[name] = value;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function show(el, visible) {
  el.hidden = !visible;
}

/** A keyboard shortcut hint shown on a button (<kbd>). */
export function kbd(text) {
  return h("kbd", { class: "key", attrs: { "aria-hidden": "true" } }, text);
}
