// The console's entry point: sign-in and the hash router (#/watchlists, #/live, ...). Each page
// is a module exporting `render(main, params)`, which may return a function that stops what the
// page started (a WebSocket, a timer) when the user leaves it.

import { api, ApiError, session } from "./api.js";
import { announce, field, fill, h } from "./dom.js";
import * as live from "./live.js";
import * as members from "./members.js";
import { finishSignIn, oidcSettings, startSignIn } from "./oidc.js";
import * as records from "./records.js";
import * as search from "./search.js";
import * as watchlists from "./watchlists.js";

const ROUTES = [
  [/^#\/watchlists\/?$/, watchlists.renderList, "Watchlists"],
  [/^#\/watchlists\/([^/]+)$/, watchlists.renderOne, "Watchlist"],
  [/^#\/members\/([^/]+)$/, members.renderOne, "Member"],
  [/^#\/live\/?$/, live.render, "Live"],
  [/^#\/search\/?$/, search.render, "Search"],
  [/^#\/records\/?$/, records.render, "Recorded video"],
  [/^#\/records\/([^/]+)$/, records.renderOne, "Video record"],
  [/^#\/groupings\/([^/]+)$/, records.renderGrouping, "Record grouping"],
];

const main = document.getElementById("main");
let leave = null;
let routes = 0; // route() calls so far: a render that ends after a later one began is stale

async function route() {
  if (leave) leave();
  leave = null;
  const mine = ++routes;
  announce("");
  const signedIn = session.signedIn;
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  if (!signedIn) return renderSignIn();
  const hash = location.hash || "#/watchlists";
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) {
    location.hash = "#/watchlists";
    return;
  }
  const [pattern, render, title] = found;
  const params = hash.match(pattern).slice(1).map(decodeURIComponent);
  document.title = `${title} · Facegate console`;
  const SECTIONS = { members: "watchlists", groupings: "records" };
  const section = SECTIONS[hash.split("/")[1]] || hash.split("/")[1];
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.hash === `#/${section}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  // Each route renders into a view of its own: a render still loading when the user moves on
  // (or signs out) fills a view no longer shown, never what is shown now.
  const view = h("div", { class: "view" }, h("p", { class: "muted" }, "Loading…"));
  fill(main, view);
  try {
    const ended = (await render(view, ...params)) || null;
    if (mine === routes) leave = ended;
    else if (ended) ended(); // stale: stop what it started (live streams)
  } catch (error) {
    fill(view, h("h1", {}, title), h("p", { class: "note error", role: "alert" }, error.message));
  }
  if (mine === routes) main.focus({ preventScroll: true });
}

/** Whether the API takes the credentials just given: the least a viewer may do. */
async function acceptedByApi() {
  await api("GET", "/api/v1/Watchlists?PageSize=1");
  if (!location.hash || location.hash === "#/signin") location.hash = "#/watchlists";
  else route();
}

function renderSignIn(problem = "") {
  document.title = "Sign in · Facegate console";
  const oidc = oidcSettings();
  const key = h("input", { type: "password", name: "apiKey", autocomplete: "current-password", spellcheck: "false" });
  const message = h("p", { role: "alert", class: "note error", hidden: !problem }, problem);
  const submit = h("button", { type: "submit" }, "Sign in");
  const provider = oidc ? h("button", { type: "button" }, "Sign in with your organisation's account") : null;
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    message,
    ...(provider ? [provider, h("p", { class: "muted" }, "or with an API key:")] : []),
    field("API key", key, "An API key of yours (README, Security: python -m shared.auth new-key NAME ROLE). " +
      "Leave it empty when the API runs open, as make run serves it on 127.0.0.1."),
    submit,
  );
  provider?.addEventListener("click", async () => {
    provider.disabled = true;
    try {
      await startSignIn(oidc);
    } catch (error) {
      message.hidden = false;
      message.textContent = `Not signed in: ${error.message}`;
      provider.disabled = false;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    session.signIn(key.value.trim());
    try {
      await acceptedByApi();
    } catch (error) {
      session.signOut();
      message.hidden = false;
      message.textContent = error instanceof ApiError ? `Not signed in: ${error.message}` : String(error);
      submit.disabled = false;
      key.focus();
    }
  });
  fill(main, form);
  key.focus();
}

document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  route();
});

// A key that stops working (revoked, or the API got authentication) signs the user out.
window.addEventListener("facegate:unauthorized", (event) => {
  if (document.getElementById("nav").hidden) return; // on the sign-in form, which says why itself
  session.signOut();
  route().then(() => announce(`Signed out: ${event.detail.message}`, "error"));
});

window.addEventListener("hashchange", route);

// Back from the identity provider (?code=...): trade the code for a token, then go on.
async function start() {
  const oidc = oidcSettings();
  let token = null;
  try {
    token = oidc ? await finishSignIn(oidc) : null;
  } catch (error) {
    session.signOut();
    return renderSignIn(`Not signed in: ${error.message}`);
  }
  if (token === null) return route();
  session.signInWithToken(token);
  try {
    await acceptedByApi();
  } catch (error) {
    session.signOut();
    renderSignIn(`Not signed in: ${error instanceof ApiError ? error.message : String(error)}`);
  }
}
start();
