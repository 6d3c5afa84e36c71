// Search: a photo against the watchlists (Watchlists/Search), a photo against every face the
// cameras stored (a Faces/Search session, followed until it finished), the faces cameras saw in a
// time range (GET /api/v1/Faces with CameraId, CreatedFrom, CreatedTo) and a tracklet's faces,
// and two photos compared (Faces/Verify) and checked for liveness (Faces/SpoofCheck).

import { allPages, api, base64Of, query } from "./api.js";
import { busy, field, fill, h, swatch, when, withColor } from "./dom.js";
import { photoPicker } from "./photos.js";
import { imageOrNone, memberPhoto } from "./thumbs.js";

/** #/search */
export async function render(main) {
  const [watchlists, cameras] = await Promise.all([allPages("/api/v1/Watchlists"), api("GET", "/api/v1/Cameras")]);
  fill(
    main,
    h("h1", {}, "Search"),
    h("section", { class: "card", "aria-labelledby": "by-photo-title" }, h("h2", { id: "by-photo-title" }, "Who is this? Search watchlists by photo"), byPhoto(watchlists)),
    h("section", { class: "card", "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "Where else was this person seen? Search camera history by photo"), inHistory(cameras)),
    h("section", { class: "card", "aria-labelledby": "seen-title" }, h("h2", { id: "seen-title" }, "Faces cameras saw"), seenFaces(cameras)),
    h("section", { class: "card", "aria-labelledby": "compare-title" }, h("h2", { id: "compare-title" }, "Compare two photos"), compare()),
  );
}

function resultArea(label) {
  return h("div", { class: "results", "aria-live": "polite", "aria-label": label });
}

function failure(error) {
  return h("p", { class: "note error", role: "alert" }, error.message);
}

function byPhoto(watchlists) {
  const picker = photoPicker("Photo to search", { multiple: false, name: "probe" });
  const watchlist = h("select", { name: "watchlist" }, h("option", { value: "" }, "Every watchlist"), watchlists.map((w) => h("option", { value: w.id }, w.displayName)));
  const threshold = h("input", { name: "threshold", type: "number", min: 0, max: 100, placeholder: "each watchlist's" });
  const results = resultArea("Search results");
  const submit = h("button", { type: "submit" }, "Search");
  const form = h("form", { class: "grid-form" }, picker.element, field("Watchlist", watchlist), field("Threshold", threshold, "Leave empty for each watchlist's own"), h("div", { class: "actions" }, submit), results);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const [photo] = picker.photos();
    if (!photo) return fill(results, h("p", { class: "note error", role: "alert" }, "Choose a photo first."));
    busy(submit, async () => {
      const body = { image: { data: await base64Of(photo.blob) }, maxResultCount: 5 };
      if (watchlist.value) body.watchlistIds = [watchlist.value];
      if (threshold.value !== "") body.threshold = Number(threshold.value);
      const faces = await api("POST", "/api/v1/Watchlists/Search", body);
      fill(results, faces.map((face, i) => searchedFace(face, i, faces.length)));
    }).catch((error) => fill(results, failure(error)));
  });
  return form;
}

function searchedFace(face, index, count) {
  const heading = count > 1 ? h("h3", {}, `Face ${index + 1} of ${count}`) : null;
  if (!face.matchResults.length) return h("div", {}, heading, h("p", { class: "muted" }, "No member matches this face above the threshold."));
  return h(
    "div",
    {},
    heading,
    h(
      "ol",
      { class: "matches" },
      face.matchResults.map((m) =>
        withColor(
          h("li", { class: "result match" }),
          m.previewColor,
          memberPhoto({ id: m.watchlistMemberId, fullName: m.fullName }),
          h("div", { class: "what" },
            h("a", { class: "who", href: `#/members/${encodeURIComponent(m.watchlistMemberId)}` }, m.fullName || m.displayName || m.watchlistMemberId),
            h("span", { class: "score" }, `score ${m.score}`),
            h("span", { class: "watchlist" }, swatch(m.previewColor), " ", m.watchlistFullName || m.watchlistDisplayName)),
        ),
      ),
    ),
  );
}

const SESSION_POLL_MS = 1000;

function inHistory(cameras) {
  const picker = photoPicker("Photo of the person", { multiple: false, name: "history-probe" });
  const threshold = h("input", { name: "history-threshold", type: "number", min: 0, max: 100, value: "30" });
  const results = resultArea("Faces found in camera history");
  const submit = h("button", { type: "submit" }, "Search history");
  const names = new Map(cameras.map((c) => [c.id, c.name]));
  const form = h("form", { class: "grid-form" }, picker.element, field("Threshold", threshold, "Least score (0-100) a stored face needs"), h("div", { class: "actions" }, submit), results);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const [photo] = picker.photos();
    if (!photo) return fill(results, h("p", { class: "note error", role: "alert" }, "Choose a photo first."));
    busy(submit, async () => {
      const started = await api("POST", "/api/v1/Faces/Search", { image: { data: await base64Of(photo.blob) }, threshold: Number(threshold.value || 30) });
      const path = `/api/v1/Faces/Search/${encodeURIComponent(started.searchSessionId)}${query({ PageSize: 60, ShowTotalCount: true })}`;
      let answer = await api("GET", path);
      while (answer.session.state === "Running") {
        fill(results, h("p", { class: "muted" }, `Searching… ${answer.session.searchedFacesCount} stored faces compared.`));
        await new Promise((resolve) => setTimeout(resolve, SESSION_POLL_MS));
        answer = await api("GET", path);
      }
      if (answer.session.state === "Failed") throw new Error(`The search failed: ${answer.session.error || "search again"}`);
      const hits = answer.items.map((hit) =>
        h("li", { class: "face history" },
          imageOrNone(hit.imageDataId, `Face seen at ${when(hit.faceCreatedAt)}`),
          h("small", { class: "score" }, `score ${hit.score}`),
          h("small", {}, when(hit.faceCreatedAt)),
          h("small", {}, names.get(hit.streamId) || "a video record or edge stream")));
      fill(
        results,
        h("p", {}, `${answer.session.matchesCount} face${answer.session.matchesCount === 1 ? "" : "s"} found among ${answer.session.searchedFacesCount} stored, best first${answer.nextPage ? " (the best 60 shown)" : ""}.`),
        hits.length ? h("ul", { class: "faces" }, hits) : null,
      );
    }).catch((error) => fill(results, failure(error)));
  });
  return form;
}

/** datetime-local (the browser's local time) as ISO 8601 with the offset. */
function isoOf(local) {
  return local ? new Date(local).toISOString() : "";
}

function seenFaces(cameras) {
  const camera = h("select", { name: "camera" }, h("option", { value: "" }, "Every camera"), cameras.map((c) => h("option", { value: c.id }, c.name)));
  const from = h("input", { name: "from", type: "datetime-local" });
  const to = h("input", { name: "to", type: "datetime-local" });
  const results = resultArea("Faces found");
  const submit = h("button", { type: "submit" }, "Show faces");
  const names = new Map(cameras.map((c) => [c.id, c.name]));
  const form = h("form", { class: "grid-form" }, field("Camera", camera), field("From", from), field("Until", to), h("div", { class: "actions" }, submit), results);

  async function show(params, title) {
    const page = await api("GET", `/api/v1/Faces${query({ ...params, PageSize: 60, ShowTotalCount: true })}`);
    const shown = page.items.map((face) => {
      const open = h("button", { type: "button", class: "quiet small", "aria-label": `Faces of the tracklet of the face at ${when(face.createdAt)}` }, "Tracklet");
      open.addEventListener("click", () => busy(open, () => show({ TrackletId: face.trackletId }, "Faces of one tracklet")).catch((error) => fill(results, failure(error))));
      return h(
        "li",
        { class: "face" },
        imageOrNone(face.imageDataId, `Face at ${when(face.createdAt)}`),
        h("small", {}, when(face.createdAt)),
        params.CameraId ? h("small", {}, names.get(params.CameraId)) : null,
        open,
      );
    });
    fill(
      results,
      h("p", {}, `${title}: ${page.totalItemsCount ?? page.items.length} face${(page.totalItemsCount ?? page.items.length) === 1 ? "" : "s"}${page.nextPage ? " (the newest 60 shown)" : ""}.`),
      shown.length ? h("ul", { class: "faces" }, shown) : null,
    );
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, () => show({ CameraId: camera.value, CreatedFrom: isoOf(from.value), CreatedTo: isoOf(to.value) }, "Faces found")).catch((error) =>
      fill(results, failure(error)),
    );
  });
  return form;
}

function compare() {
  const first = photoPicker("First photo", { multiple: false, name: "first" });
  const second = photoPicker("Second photo", { multiple: false, name: "second" });
  const results = resultArea("Verification");
  const liveness = resultArea("Spoof checks");
  const verify = h("button", { type: "button" }, "Verify: same person?");
  const spoof = h("button", { type: "button", class: "secondary" }, "Spoof check both");

  function chosen() {
    const photos = [first.photos()[0], second.photos()[0]];
    if (photos.some((p) => !p)) throw new Error("Choose both photos first.");
    return photos;
  }

  verify.addEventListener("click", () =>
    busy(verify, async () => {
      const [a, b] = await Promise.all(chosen().map((p) => base64Of(p.blob)));
      const answer = await api("POST", "/api/v1/Faces/Verify", { probeImage: { image: { data: a } }, referenceImage: { image: { data: b } } });
      fill(results, h("p", { class: "verdict" }, `Confidence ${answer.confidence.toFixed(0)} of 100 that both photos show the same person.`));
    }).catch((error) => fill(results, failure(error))),
  );

  spoof.addEventListener("click", () =>
    busy(spoof, async () => {
      const photos = chosen();
      const pickers = [first, second];
      const lines = [];
      for (const [i, photo] of photos.entries()) {
        try {
          const answer = await api("POST", "/api/v1/Faces/SpoofCheck", { image: { data: await base64Of(photo.blob) } });
          const check = answer.distantLivenessSpoofCheck;
          const why = (check.notPerformedReasons || []).map((r) => r.reasonMessage).join("; ");
          const text = !answer.performed ? `not judged${why ? `: ${why}` : ""}` : answer.passed ? `live (score ${check.score.toFixed(0)})` : `spoof suspected (score ${check.score.toFixed(0)})`;
          pickers[i].say(0, text, answer.performed && answer.passed ? "ok" : "error");
          lines.push(h("li", {}, `${i ? "Second" : "First"} photo: ${text}`));
        } catch (error) {
          pickers[i].say(0, error.message, "error");
          lines.push(h("li", {}, `${i ? "Second" : "First"} photo: ${error.message}`));
        }
      }
      fill(liveness, h("ul", {}, lines));
    }).catch((error) => fill(liveness, failure(error))),
  );

  return h("div", { class: "grid-form" }, h("div", { class: "pair" }, first.element, second.element), h("div", { class: "actions" }, verify, spoof), results, liveness);
}
