// Small DOM helpers. Text always goes in as text nodes (never innerHTML), so names, notes and
// error messages from the API cannot inject markup.

/** An element: h("button", {type: "button", onclick: fn}, "Save"). Attributes that are functions
 * become listeners (onclick -> click); `value`, `checked` and `hidden` are set as properties. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (name === "value" || name === "checked" || name === "hidden") element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `element`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let fieldCount = 0;

/** A labelled form field: the label names the control for screen readers and clicks. */
export function field(label, control, hint) {
  control.id ||= `field-${++fieldCount}`;
  const hintElement = hint ? h("small", { id: `${control.id}-hint` }, hint) : null;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintElement);
}

/** The polite status line at the top: what just happened, or what went wrong. */
export function announce(message, kind = "info") {
  const status = document.getElementById("status");
  fill(status, message ? h("p", { class: `note ${kind}` }, message) : null);
}

/** A local date and time for an ISO timestamp. */
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A square swatch of a watchlist's preview colour (set through the CSSOM: the page's
 * Content-Security-Policy refuses style attributes). */
export function swatch(color) {
  const element = h("span", { class: "swatch", title: color || "" });
  element.style.backgroundColor = safeColor(color);
  return element;
}

/** A result `item` edged in a watchlist's colour (none: the neutral edge), with `children`. */
export function withColor(item, color, ...children) {
  if (color) item.style.borderLeftColor = safeColor(color);
  append(item, children);
  return item;
}

/** Only #rgb/#rrggbb reach a style. */
export function safeColor(color) {
  return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(color || "") ? color : "#888888";
}

/** Run an async action from a button, which is disabled (and busy) while it runs. */
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** Initials in a circle, where a member has no stored photo. */
export function initials(name) {
  const letters = (name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
  return h("span", { class: "thumb placeholder", "aria-hidden": "true" }, letters || "?");
}
