// Live: the cameras with their status (polled) and live preview, adding and deleting a camera,
// and the feed of match and no-match results as they happen (GraphQL subscriptions matchResult,
// noMatchResult).

import { api, authHeaders, graphqlUrl } from "./api.js";
import { announce, busy, field, fill, h, swatch, when, withColor } from "./dom.js";
import { subscribe } from "./graphql.js";
import { playPreview } from "./mjpeg.js";
import { memberPhoto } from "./thumbs.js";

const POLL_MS = 3000;
const FEED_LENGTH = 50;
const COMMON = "id type streamId faceId trackletId createdAt cropImage";
const OPERATIONS = {
  match: {
    query: `subscription { matchResult { ${COMMON} score watchlistMemberId watchlistMemberFullName
      watchlistMemberDisplayName watchlistId watchlistFullName watchlistDisplayName previewColor } }`,
  },
  noMatch: { query: `subscription { noMatchResult { ${COMMON} } }` },
};

/** #/live; returns what stops the polling and the subscription. */
export async function render(main) {
  const cameraNames = new Map();
  const cameraRows = h("tbody");
  const previous = new Map(); // camera id -> {at, analysed}: frames analysed per second
  const feed = h("ol", { class: "feed", role: "log", "aria-label": "Match results, newest first" });
  const feedState = h("p", { class: "muted", id: "feed-state" }, "Connecting…");
  const preview = previewPanel();

  async function pollCameras() {
    const cameras = await api("GET", "/api/v1/Cameras");
    const statuses = await Promise.all(
      cameras.map((c) => api("GET", `/api/v1/Cameras/${c.id}/Status`).catch((error) => ({ state: "unknown", reason: error.message }))),
    );
    fill(
      cameraRows,
      cameras.length
        ? cameras.map((camera, i) => cameraRow(camera, statuses[i]))
        : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No camera yet: add one below.")),
    );
  }

  function cameraRow(camera, status) {
    cameraNames.set(camera.id, camera.name);
    const now = Date.now();
    const last = previous.get(camera.id);
    const analysed = status.framesAnalysed ?? 0;
    const fps = last && now > last.at ? ((analysed - last.analysed) * 1000) / (now - last.at) : null;
    previous.set(camera.id, { at: now, analysed });
    const watch = h("button", { type: "button", class: "quiet small", "aria-label": `Preview of ${camera.name}` }, "Preview");
    watch.addEventListener("click", () => preview.show(camera));
    const remove = h("button", { type: "button", class: "quiet small", "aria-label": `Delete camera ${camera.name}` }, "Delete");
    remove.addEventListener("click", () => {
      if (!confirm(`Delete the camera "${camera.name}"? Its stream stops.`)) return;
      busy(remove, () => api("DELETE", `/api/v1/Cameras/${camera.id}`))
        .then(pollCameras)
        .catch((error) => announce(error.message, "error"));
    });
    return h(
      "tr",
      {},
      h("td", {}, camera.name),
      h("td", {}, h("span", { class: `state state-${status.state}` }, status.state), status.reason ? h("small", {}, ` ${status.reason}`) : null),
      h("td", { class: "num" }, fps === null ? "…" : fps.toFixed(1)),
      h("td", {}, status.lastFrameAt ? when(status.lastFrameAt) : "never"),
      h("td", { class: "row" }, watch, remove),
    );
  }

  const cameraTable = h(
    "table",
    {},
    h("caption", { class: "visually-hidden" }, "Cameras"),
    h("thead", {}, h("tr", {}, ["Camera", "Status", "Analysed frames/s", "Last frame", ""].map((t) => h("th", { scope: "col" }, t)))),
    cameraRows,
  );

  function onResult(id, data) {
    const result = id === "match" ? data.matchResult : data.noMatchResult;
    feed.prepend(feedItem(result, cameraNames.get(result.streamId) || result.streamId));
    while (feed.children.length > FEED_LENGTH) feed.lastElementChild.remove();
  }

  function onState(state, detail) {
    const text = { connecting: "Connecting…", live: "Live: results appear as they happen.", closed: "Disconnected, reconnecting", refused: "Refused", error: "Error" }[state];
    feedState.textContent = detail ? `${text}: ${detail}` : text;
    feedState.dataset.state = state;
  }

  fill(
    main,
    h("h1", {}, "Live"),
    h("div", { class: "live" },
      h("section", { "aria-labelledby": "feed-title" }, h("h2", { id: "feed-title" }, "Matches"), feedState, feed),
      h("section", { "aria-labelledby": "cameras-title" },
        h("h2", { id: "cameras-title" }, "Cameras"), preview.element, cameraTable,
        h("details", { class: "card" }, h("summary", {}, "Add a camera"), cameraForm(pollCameras))),
    ),
  );
  await pollCameras();
  const poller = setInterval(() => pollCameras().catch(() => {}), POLL_MS);
  const stop = subscribe(graphqlUrl(), authHeaders(), OPERATIONS, onResult, onState);
  return () => {
    clearInterval(poller);
    stop();
    preview.stop();
  };
}

/** One camera's live preview at a time, with faces boxed (GET /api/v1/Cameras/{id}/Preview). */
function previewPanel() {
  const img = h("img", { class: "preview", alt: "" });
  const caption = h("figcaption", { "aria-live": "polite" });
  const close = h("button", { type: "button", class: "quiet small" }, "Close preview");
  const element = h("figure", { class: "preview-panel card", hidden: true }, img, h("div", { class: "row" }, caption, close));
  let stopPlaying = () => {};

  function stop() {
    stopPlaying();
    stopPlaying = () => {};
    img.removeAttribute("src");
    element.hidden = true;
  }
  close.addEventListener("click", stop);

  function show(camera) {
    stop();
    element.hidden = false;
    img.alt = `Live preview of ${camera.name}, faces boxed`;
    caption.textContent = `${camera.name}: connecting…`;
    stopPlaying = playPreview(camera.id, img, (state) => {
      caption.textContent = `${camera.name}: ${state}`;
    });
    close.focus();
  }
  return { element, show, stop };
}

function feedItem(result, camera) {
  const matched = result.type === "MATCH";
  const crop = result.cropImage
    ? h("img", { class: "thumb", src: `data:image/jpeg;base64,${result.cropImage}`, alt: `Face seen by ${camera}` })
    : h("span", { class: "thumb placeholder" }, "no crop");
  const name = result.watchlistMemberFullName || result.watchlistMemberDisplayName || result.watchlistMemberId;
  return withColor(
    h("li", { class: `result ${matched ? "match" : "no-match"}` }),
    matched ? result.previewColor : null,
    crop,
    matched ? memberPhoto({ id: result.watchlistMemberId, fullName: name }) : null,
    h(
      "div",
      { class: "what" },
      h("strong", { class: "who" }, matched ? name : "No match"),
      matched ? h("span", { class: "score" }, `score ${result.score}`) : null,
      matched ? h("span", { class: "watchlist" }, swatch(result.previewColor), " ", result.watchlistFullName || result.watchlistDisplayName) : null,
      h("small", {}, `${camera} · ${when(result.createdAt)}`),
    ),
  );
}

/** A new RTSP camera, enabled: camera_ingest starts reading it within seconds. */
function cameraForm(added) {
  const name = h("input", { name: "cameraName", required: true, maxlength: 200 });
  const source = h("input", { name: "source", required: true, type: "url", placeholder: "rtsp://user:password@camera/stream" });
  const submit = h("button", { type: "submit" }, "Add camera");
  const message = h("p", { class: "note error", role: "alert", hidden: true });
  const form = h("form", { class: "grid-form" }, field("Name", name), field("Stream URL", source), message, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.hidden = true;
    busy(submit, async () => {
      await api("POST", "/api/v1/Cameras", { name: name.value.trim(), source: source.value.trim(), enabled: true });
      form.reset();
      announce("Camera added: its status shows when the stream is read.", "ok");
      await added();
    }).catch((error) => {
      message.hidden = false;
      message.textContent = error.message;
    });
  });
  return form;
}
