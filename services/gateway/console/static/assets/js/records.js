// Recorded video: video records (analyse a file or a recording's URL, see its tracklets with
// their faces, clear or delete what it produced) and record groupings (the faces of linked
// records grouped into individuals, each shown with its best face).

import { api, query } from "./api.js";
import { announce, busy, field, fill, h, when } from "./dom.js";
import { laterImage } from "./thumbs.js";

const RECORDS = "/api/v1/VideoRecords";
const GROUPINGS = "/api/v1/RecordGroupings";
const REFRESH_MS = 2000;

function stateBadge(state) {
  const kind = { Processed: "online", Processing: "connecting", Error: "error" }[state] || "pending";
  return h("span", { class: `state state-${kind}` }, state);
}

function failure(error) {
  return h("p", { class: "note error", role: "alert" }, error.message);
}

function duration(ms) {
  if (ms === null || ms === undefined) return "";
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The first face of a tracklet with a stored image (its crop), or a grey square. */
function trackletFace(trackletId, alt) {
  const firstImage = (page) => page.items.find((f) => f.imageDataId)?.imageDataId ?? null;
  return laterImage(() => api("GET", `/api/v1/Faces${query({ TrackletId: trackletId, PageSize: 5 })}`).then(firstImage), alt);
}

/** #/records: the video records and record groupings, with forms to add either. */
export async function render(main) {
  const list = h("div", { "aria-live": "polite" });
  const groupings = h("div");
  fill(
    main,
    h("h1", {}, "Recorded video"),
    h("section", { class: "card", "aria-labelledby": "records-title" }, h("h2", { id: "records-title" }, "Video records"), list, newRecord()),
    h("section", { class: "card", "aria-labelledby": "groupings-title" }, h("h2", { id: "groupings-title" }, "Record groupings"), groupings, newGrouping()),
  );
  async function refresh() {
    const [records, found] = await Promise.all([api("GET", RECORDS), api("GET", GROUPINGS)]);
    fill(list, recordTable(records));
    fill(groupings, groupingList(found));
  }
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}

function recordTable(records) {
  if (!records.length) return h("p", { class: "muted" }, "No video record yet: add one below.");
  return h(
    "table",
    {},
    h("caption", { class: "visually-hidden" }, "Video records"),
    h("thead", {}, h("tr", {}, ["Name", "State", "Length", "Source", "Recorded"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      records.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: `#/records/${encodeURIComponent(r.id)}` }, r.name || r.id)),
          h("td", {}, stateBadge(r.state)),
          h("td", { class: "num" }, duration(r.videoDurationMs)),
          h("td", { class: "source" }, r.source),
          h("td", {}, when(r.recordedAt)),
        ),
      ),
    ),
  );
}

function newRecord() {
  const name = h("input", { name: "name", required: true, maxlength: 200 });
  const source = h("input", { name: "source", required: true, spellcheck: "false" });
  const enabled = h("input", { name: "enabled", type: "checkbox", checked: true });
  const submit = h("button", { type: "submit" }, "Add video record");
  const message = h("div");
  const form = h(
    "form",
    { class: "grid-form" },
    field("Name", name),
    field("Source", source, "A file in the video folder (FACEGATE_VIDEO_FOLDER) or an http(s):// or rtsp:// URL of a recording"),
    field("Analyse now", enabled),
    h("div", { class: "actions" }, submit),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const created = await api("POST", RECORDS, { name: name.value.trim(), source: source.value.trim(), enabled: enabled.checked });
      announce(`Video record "${created.name}" added${created.enabled ? ": its analysis starts" : ""}.`, "ok");
      location.hash = `#/records/${encodeURIComponent(created.id)}`;
    }).catch((error) => fill(message, failure(error)));
  });
  return form;
}

/** #/records/{id}: one record, where its analysis stands, its tracklets with their faces. */
export async function renderOne(main, id) {
  const path = `${RECORDS}/${encodeURIComponent(id)}`;
  const summary = h("div", { "aria-live": "polite" });
  const tracklets = h("div");
  const actions = h("div", { class: "actions" });
  fill(main, h("p", {}, h("a", { href: "#/records" }, "← Recorded video")), h("h1", {}, "Video record"), summary, actions,
    h("section", { class: "card", "aria-labelledby": "tracklets-title" }, h("h2", { id: "tracklets-title" }, "Tracklets"), tracklets));
  let shownTracklets = -1;

  async function refresh() {
    const [record, status] = await Promise.all([api("GET", path), api("GET", `${path}/Status`)]);
    main.querySelector("h1").textContent = record.name || record.id;
    fill(
      summary,
      h("p", {}, stateBadge(record.state), " ", record.enabled ? "enabled" : "disabled",
        status.reason ? h("span", { class: "note error" }, ` ${status.reason}`) : null),
      h("p", { class: "muted" }, `Source ${record.source}; length ${duration(record.videoDurationMs) || "unknown"}; analysed up to ${duration(status.positionMs)}` +
        (status.speed ? `, ${status.speed.toFixed(1)}x real time` : "")),
    );
    const page = await api("GET", `${path}/Tracklets${query({ PageSize: 60, ShowTotalCount: true })}`);
    if (page.items.length !== shownTracklets) {
      shownTracklets = page.items.length;
      const sorted = [...page.items].sort((a, b) => a.timeAppearedRelativeMs - b.timeAppearedRelativeMs);
      fill(
        tracklets,
        h("p", {}, `${page.totalItemsCount ?? sorted.length} tracklet${(page.totalItemsCount ?? sorted.length) === 1 ? "" : "s"}.`),
        sorted.length
          ? h("ul", { class: "faces" }, sorted.map((t) => h("li", { class: "face tracklet" },
              trackletFace(t.id, `Face of the tracklet at ${duration(t.timeAppearedRelativeMs)}`),
              h("small", {}, `${duration(t.timeAppearedRelativeMs)} to ${duration(t.timeDisappearedRelativeMs)}`))))
          : null,
      );
    }
    return record;
  }

  let record = await refresh();
  const toggle = h("button", { type: "button" }, record.enabled ? "Stop analysis" : "Analyse");
  const clear = h("button", { type: "button", class: "secondary" }, "Clear results");
  const remove = h("button", { type: "button", class: "danger" }, "Delete record");
  toggle.addEventListener("click", () => busy(toggle, async () => {
    record = await api("PUT", RECORDS, { ...record, enabled: !record.enabled });
    toggle.textContent = record.enabled ? "Stop analysis" : "Analyse";
    await refresh();
  }).catch((error) => announce(error.message, "error")));
  clear.addEventListener("click", () => busy(clear, async () => {
    await api("POST", `${path}/Clear`);
    announce("Its faces, tracklets and frames are removed; Analyse starts again.", "ok");
    shownTracklets = -1;
    record = await refresh();
    toggle.textContent = record.enabled ? "Stop analysis" : "Analyse";
  }).catch((error) => announce(error.message, "error")));
  remove.addEventListener("click", () => busy(remove, async () => {
    if (!confirm(`Delete "${record.name}" and everything its analysis produced?`)) return;
    await api("DELETE", path);
    announce(`Video record "${record.name}" deleted.`, "ok");
    location.hash = "#/records";
  }).catch((error) => announce(error.message, "error")));
  fill(actions, toggle, clear, remove);
  const timer = setInterval(() => refresh().then((r) => { record = r; }).catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}

function groupingList(groupings) {
  if (!groupings.length) return h("p", { class: "muted" }, "No record grouping yet.");
  return h("ul", {}, groupings.map((g) => h("li", {}, h("a", { href: `#/groupings/${encodeURIComponent(g.id)}` }, g.description || g.id),
    h("span", { class: "muted" }, ` threshold ${g.config.threshold}`))));
}

function newGrouping() {
  const description = h("input", { name: "description", required: true, maxlength: 200 });
  const threshold = h("input", { name: "threshold", type: "number", min: 0, max: 100, value: "40" });
  const submit = h("button", { type: "submit" }, "Create grouping");
  const message = h("div");
  const form = h("form", { class: "grid-form" }, field("Description", description),
    field("Threshold", threshold, "How alike (0-100) the faces of one individual are on average"), h("div", { class: "actions" }, submit), message);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const created = await api("POST", GROUPINGS, { description: description.value.trim(), config: { threshold: Number(threshold.value) } });
      location.hash = `#/groupings/${encodeURIComponent(created.id)}`;
    }).catch((error) => fill(message, failure(error)));
  });
  return form;
}

/** #/groupings/{id}: a record grouping, its linked records, a run, its individuals. */
export async function renderGrouping(main, id) {
  const path = `${GROUPINGS}/${encodeURIComponent(id)}`;
  const grouping = await api("GET", path);
  const linked = h("div");
  const state = h("p", { "aria-live": "polite" });
  const people = h("div");
  const choice = h("select", { name: "record" });
  const link = h("button", { type: "button" }, "Link record");
  const trigger = h("button", { type: "button" }, "Group now");
  fill(
    main,
    h("p", {}, h("a", { href: "#/records" }, "← Recorded video")),
    h("h1", {}, grouping.description || grouping.id),
    h("section", { class: "card", "aria-labelledby": "linked-title" }, h("h2", { id: "linked-title" }, "Linked video records"), linked,
      h("div", { class: "grid-form" }, field("Video record", choice), h("div", { class: "actions" }, link, trigger)), state),
    h("section", { class: "card", "aria-labelledby": "individuals-title" }, h("h2", { id: "individuals-title" }, "Individuals"), people),
  );
  let shownPeople = "";

  async function refresh() {
    const [records, all, progress, found] = await Promise.all([
      api("GET", `${path}/VideoRecords`), api("GET", RECORDS), api("GET", `${path}/State`),
      api("GET", `${path}/Individuals${query({ PageSize: 100, ShowTotalCount: true })}`),
    ]);
    const ids = new Set(records.map((r) => r.id));
    fill(linked, records.length ? h("ul", {}, records.map((r) => h("li", {}, h("a", { href: `#/records/${encodeURIComponent(r.id)}` }, r.name), " ", stateBadge(r.state))))
      : h("p", { class: "muted" }, "No video record linked yet."));
    const chosen = choice.value;
    const linkable = all.filter((r) => !ids.has(r.id));
    fill(choice, linkable.length ? linkable.map((r) => h("option", { value: r.id }, r.name)) : h("option", { value: "" }, "(every record is linked)"));
    if (chosen && linkable.some((r) => r.id === chosen)) choice.value = chosen;
    link.disabled = !linkable.length;
    fill(state, `${progress.status === "Processing" ? "Grouping…" : "Ready."} ${progress.numUnprocFrames} frame${progress.numUnprocFrames === 1 ? "" : "s"} not grouped yet.`);
    const key = found.items.map((i) => `${i.id}@${i.updatedAt}`).join(",");
    if (key !== shownPeople) {
      shownPeople = key;
      fill(people, h("p", {}, `${found.totalItemsCount ?? found.items.length} individual${found.items.length === 1 ? "" : "s"}.`),
        found.items.length ? h("ul", { class: "faces" }, found.items.map((person, i) => individual(person, i))) : null);
    }
  }

  link.addEventListener("click", () => busy(link, async () => {
    await api("POST", `${path}/LinkVideoRecords`, { ids: [choice.value] });
    choice.value = "";
    await refresh();
  }).catch((error) => announce(error.message, "error")));
  trigger.addEventListener("click", () => busy(trigger, async () => {
    await api("POST", `${path}/Trigger`);
    announce("Grouping started: individuals appear when it is done.", "ok");
    await refresh();
  }).catch((error) => announce(error.message, "error")));
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}

function individual(person, index) {
  const bestFace = () => api("GET", `/api/v1/Faces/${encodeURIComponent(person.bestFaceId)}`).then((face) => face.imageDataId);
  const slot = laterImage(bestFace, `Best face of individual ${index + 1}`);
  return h("li", { class: "face individual" }, slot, h("small", {}, `Individual ${index + 1}`),
    person.entranceTime ? h("small", {}, `${when(person.entranceTime)} to ${when(person.exitTime)}`) : null);
}
