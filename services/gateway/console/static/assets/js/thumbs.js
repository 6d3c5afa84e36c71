// Photos of members and faces, from the API's stored images (GET /api/v1/Images/{id}).

import { api, imageUrl } from "./api.js";
import { h, initials } from "./dom.js";

/** A stored image: a grey square until it is fetched with the API key, then the <img>
 * (`alt` describes it). */
export function storedImage(imageDataId, alt, maxSize = 160) {
  const slot = h("span", { class: "thumb placeholder", "aria-busy": "true" });
  imageUrl(imageDataId, maxSize)
    .then((url) => {
      const img = h("img", { class: "thumb", alt });
      img.onload = () => slot.replaceWith(img);
      img.onerror = () => missing(slot);
      img.src = url;
    })
    .catch(() => missing(slot));
  return slot;
}

/** `storedImage` of an id that may be missing: a grey "no image" square then. */
export function imageOrNone(imageDataId, alt) {
  return imageDataId ? storedImage(imageDataId, alt) : h("span", { class: "thumb placeholder" }, "no image");
}

/** The stored image whose id `findId()` (a promise, null for none) gives; a busy grey square
 * until it is known. */
export function laterImage(findId, alt) {
  const slot = h("span", { class: "thumb placeholder", "aria-busy": "true" });
  findId()
    .then((id) => slot.replaceWith(imageOrNone(id, alt)))
    .catch(() => slot.replaceWith(imageOrNone(null, alt)));
  return slot;
}

function missing(slot) {
  slot.removeAttribute("aria-busy");
  slot.replaceChildren("no image");
}

/** A member's photo: their first face that has a stored image, else their initials. */
export function memberPhoto(member) {
  const name = member.fullName || member.displayName || member.id;
  const slot = h("span", { class: "thumb-slot" }, initials(name));
  api("GET", `/api/v1/WatchlistMembers/${encodeURIComponent(member.id)}/Faces?PageSize=10`)
    .then((page) => {
      const face = page.items.find((f) => f.imageDataId);
      if (face) slot.replaceChildren(storedImage(face.imageDataId, `Photo of ${name}`));
    })
    .catch(() => {}); // the initials stay
  return slot;
}
