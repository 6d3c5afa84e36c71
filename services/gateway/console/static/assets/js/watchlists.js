// Watchlists: the list, one watchlist with its members, create, edit, delete, and enrolment of a
// new member from photos (POST /api/v1/WatchlistMembers/Register).

import { allPages, api, ApiError, base64Of } from "./api.js";
import { announce, busy, field, fill, h, swatch, when } from "./dom.js";
import { photoPicker } from "./photos.js";
import { memberPhoto } from "./thumbs.js";

const DEFAULT_COLOR = "#4d7cfe";

/** #/watchlists */
export async function renderList(main) {
  const watchlists = await allPages("/api/v1/Watchlists");
  const rows = watchlists.map((w) =>
    h(
      "tr",
      {},
      h("td", {}, swatch(w.previewColor)),
      h("td", {}, h("a", { href: `#/watchlists/${encodeURIComponent(w.id)}` }, w.displayName || w.id)),
      h("td", {}, w.fullName),
      h("td", { class: "num" }, w.threshold),
      h("td", {}, when(w.createdAt)),
    ),
  );
  const table = watchlists.length
    ? h(
        "table",
        {},
        h("caption", { class: "visually-hidden" }, "Watchlists"),
        h("thead", {}, h("tr", {}, ["Colour", "Name", "Full name", "Threshold", "Created"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows),
      )
    : h("p", { class: "muted" }, "No watchlist yet: create one below.");

  const form = watchlistForm(null, async (body) => {
    const created = await api("POST", "/api/v1/Watchlists", body);
    location.hash = `#/watchlists/${encodeURIComponent(created.id)}`;
    announce(`Watchlist "${created.displayName}" created.`, "ok");
  });
  fill(main, h("h1", {}, "Watchlists"), table, h("section", { class: "card" }, h("h2", {}, "New watchlist"), form));
}

/** The fields of a watchlist; `onSubmit(body)` saves them. */
function watchlistForm(watchlist, onSubmit) {
  const displayName = h("input", { name: "displayName", required: true, maxlength: 200, value: watchlist?.displayName ?? "" });
  const fullName = h("input", { name: "fullName", maxlength: 200, value: watchlist?.fullName ?? "" });
  const threshold = h("input", { name: "threshold", type: "number", min: 0, max: 100, required: true, value: String(watchlist?.threshold ?? 40) });
  const color = h("input", { name: "previewColor", type: "color", value: normalColor(watchlist?.previewColor) });
  const submit = h("button", { type: "submit" }, watchlist ? "Save watchlist" : "Create watchlist");
  const message = h("p", { class: "note error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "grid-form" },
    field("Name", displayName),
    field("Full name", fullName, "Shown with matches; the name when left empty"),
    field("Threshold", threshold, "Least score (0-100) a face needs to match a member"),
    field("Preview colour", color, "Marks this watchlist's matches"),
    message,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.hidden = true;
    const body = {
      displayName: displayName.value.trim(),
      fullName: fullName.value.trim() || displayName.value.trim(),
      threshold: Number(threshold.value),
      previewColor: color.value,
    };
    busy(submit, () => onSubmit(body)).catch((error) => {
      message.hidden = false;
      message.textContent = error.message;
    });
  });
  return form;
}

function normalColor(color) {
  if (/^#[0-9a-f]{6}$/i.test(color || "")) return color.toLowerCase();
  if (/^#[0-9a-f]{3}$/i.test(color || "")) return `#${[...color.slice(1)].map((c) => c + c).join("")}`.toLowerCase();
  return DEFAULT_COLOR;
}

/** #/watchlists/{id}: its settings, its members, enrolment. */
export async function renderOne(main, id) {
  const path = `/api/v1/Watchlists/${encodeURIComponent(id)}`;
  const watchlist = await api("GET", path);
  const members = h("ul", { class: "members", "aria-label": "Members" });

  async function loadMembers() {
    const found = await allPages(`${path}/WatchlistMembers`, 500);
    fill(
      members,
      found.length ? found.map(memberCard) : h("li", { class: "muted" }, "No member yet: enrol one below."),
    );
  }

  const edit = watchlistForm(watchlist, async (body) => {
    await api("PUT", "/api/v1/Watchlists", { ...body, id });
    announce(`Watchlist "${body.displayName}" saved.`, "ok");
    fill(title, swatch(body.previewColor), " ", body.displayName);
  });
  const remove = h("button", { type: "button", class: "danger" }, "Delete watchlist");
  remove.addEventListener("click", () => {
    if (!confirm(`Delete the watchlist "${watchlist.displayName}"? Its members stay, in no watchlist.`)) return;
    busy(remove, async () => {
      await api("DELETE", path);
      announce(`Watchlist "${watchlist.displayName}" deleted.`, "ok");
      location.hash = "#/watchlists";
    }).catch((error) => announce(error.message, "error"));
  });

  const title = h("h1", {}, swatch(watchlist.previewColor), " ", watchlist.displayName);
  await loadMembers(); // before the page shows: its "Members" heading never stands over a list still empty
  fill(
    main,
    h("p", {}, h("a", { href: "#/watchlists" }, "← Watchlists")),
    title,
    h("section", { "aria-labelledby": "members-title" }, h("h2", { id: "members-title" }, "Members"), members),
    h("section", { class: "card", "aria-labelledby": "enrol-title" }, h("h2", { id: "enrol-title" }, "Enrol a member"), enrolForm(id, loadMembers)),
    h("details", { class: "card" }, h("summary", {}, "Watchlist settings"), edit, h("div", { class: "actions" }, remove)),
  );
}

function memberCard(member) {
  const name = member.fullName || member.displayName || member.id;
  return h(
    "li",
    { class: "member" },
    memberPhoto(member),
    h(
      "div",
      { class: "who" },
      h("a", { href: `#/members/${encodeURIComponent(member.id)}` }, name),
      member.displayName && member.displayName !== name ? h("small", {}, member.displayName) : null,
    ),
  );
}

/** A new member from one or more photos, registered into this watchlist. Register is all or
 * nothing: a refused photo (422 "Image N: reason") gets the reason beside it, and nothing is
 * stored until it is removed or replaced. */
function enrolForm(watchlistId, enrolled) {
  const fullName = h("input", { name: "fullName", required: true, maxlength: 200, autocomplete: "off" });
  const displayName = h("input", { name: "displayName", maxlength: 200, autocomplete: "off" });
  const note = h("textarea", { name: "note", rows: 2 });
  const photos = photoPicker("Photos of the face");
  const message = h("p", { class: "note error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit" }, "Enrol");
  const form = h(
    "form",
    { class: "grid-form", "aria-label": "Enrol a member" },
    field("Full name", fullName),
    field("Display name", displayName, "Optional short name"),
    field("Note", note),
    photos.element,
    message,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.hidden = true;
    const chosen = photos.photos();
    if (!chosen.length) {
      message.hidden = false;
      message.textContent = "Choose at least one photo, from a file or the webcam.";
      return;
    }
    chosen.forEach((_, i) => photos.say(i, ""));
    busy(submit, async () => {
      const images = await Promise.all(chosen.map(async (p) => ({ data: await base64Of(p.blob) })));
      const body = {
        images,
        watchlistIds: [watchlistId],
        fullName: fullName.value.trim(),
        displayName: displayName.value.trim() || fullName.value.trim(),
        note: note.value.trim() || null,
      };
      const member = await api("POST", "/api/v1/WatchlistMembers/Register", body);
      announce(`${member.fullName} enrolled from ${images.length} photo${images.length > 1 ? "s" : ""}.`, "ok");
      form.reset();
      photos.clear();
      await enrolled();
    }).catch((error) => {
      const refused = error instanceof ApiError && /^Image (\d+): (.*)$/s.exec(error.message);
      if (refused) {
        photos.say(Number(refused[1]), refused[2], "error");
        message.textContent = "Not enrolled: a photo was refused (its reason is beside it). Remove or replace it.";
      } else {
        message.textContent = `Not enrolled: ${error.message}`;
      }
      message.hidden = false;
    });
  });
  return form;
}
