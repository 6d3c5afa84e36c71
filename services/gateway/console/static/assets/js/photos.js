// Choosing photos: from files or from the browser's webcam. Each chosen photo is shown with a
// place beside it for what the API said about it (a refusal's reason, a match).

import { field, h } from "./dom.js";

/** A photo picker. `multiple`: several photos (enrolment), else one (a search probe).
 * Returns {element, photos(), clear(), say(index, message, kind)}. */
export function photoPicker(label, { multiple = true, name = "photos" } = {}) {
  let photos = []; // {blob, url, figure, note}
  const list = h("ul", { class: "photos", "aria-label": `${label}: chosen` });
  const input = h("input", { type: "file", accept: "image/*", name, multiple, onchange: () => addFiles(input.files) });
  const camera = webcamPanel((blob) => add(blob, "webcam photo"));
  const cameraButton = h("button", { type: "button", class: "quiet", onclick: () => camera.open() }, "Use webcam");

  function add(blob, title) {
    if (!multiple) clear();
    const url = URL.createObjectURL(blob);
    const note = h("p", { class: "photo-note", "aria-live": "polite" });
    const remove = h("button", { type: "button", class: "quiet small", "aria-label": `Remove ${title}` }, "Remove");
    const figure = h("li", { class: "photo" }, h("img", { src: url, alt: title }), h("span", { class: "name" }, title), note, remove);
    const photo = { blob, url, figure, note };
    remove.addEventListener("click", () => {
      photos = photos.filter((p) => p !== photo);
      URL.revokeObjectURL(url);
      figure.remove();
    });
    photos.push(photo);
    list.append(figure);
  }

  function addFiles(files) {
    for (const file of files) add(file, file.name);
    input.value = "";
  }

  function clear() {
    for (const photo of photos) URL.revokeObjectURL(photo.url);
    photos = [];
    list.replaceChildren();
  }

  const element = h(
    "fieldset",
    { class: "picker" },
    h("legend", {}, label),
    field(multiple ? "Photo files" : "Photo file", input, "JPEG, PNG, BMP, WebP or TIFF"),
    cameraButton,
    camera.element,
    list,
  );
  return {
    element,
    photos: () => photos,
    clear,
    /** Show a message next to photo `index` (kind: "error", "ok", "info"). */
    say(index, message, kind = "info") {
      const photo = photos[index];
      if (!photo) return;
      photo.note.textContent = message;
      photo.note.className = `photo-note ${kind}`;
      photo.figure.classList.toggle("refused", kind === "error");
    },
  };
}

/** The webcam in a panel: a live picture, "Take photo" and "Close". `onPhoto(blob)` gets a JPEG. */
function webcamPanel(onPhoto) {
  const video = h("video", { autoplay: true, playsinline: true, muted: true, "aria-label": "Webcam picture" });
  const message = h("p", { class: "photo-note", "aria-live": "polite" });
  let stream = null;

  const take = h("button", { type: "button", disabled: true, onclick: () => snap() }, "Take photo");
  video.addEventListener("loadeddata", () => {
    take.disabled = false; // a picture has arrived: there is something to take
    take.focus();
  });
  const close = h("button", { type: "button", class: "quiet", onclick: () => stop() }, "Close webcam");
  const element = h("div", { class: "webcam", hidden: true }, video, h("div", { class: "row" }, take, close), message);

  async function open() {
    element.hidden = false;
    message.textContent = "";
    if (!navigator.mediaDevices?.getUserMedia) {
      message.textContent = "This browser offers no webcam here (it needs HTTPS or localhost).";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
      video.srcObject = stream;
    } catch (error) {
      message.textContent = `The webcam could not be opened: ${error.message || error.name}`;
    }
  }

  function snap() {
    if (!stream || !video.videoWidth) return;
    const canvas = h("canvas", { width: video.videoWidth, height: video.videoHeight });
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => blob && onPhoto(blob), "image/jpeg", 0.92);
  }

  function stop() {
    take.disabled = true;
    for (const track of stream?.getTracks() || []) track.stop();
    stream = null;
    video.srcObject = null;
    element.hidden = true;
  }

  return { element, open, stop };
}
