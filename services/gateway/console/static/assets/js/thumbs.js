// Photos of members and faces, from the API's stored images (GET /api/v1/Images/{id}).

import { api, imageUrl } from "./api.js";
import { h, initials } from "./dom.js";

/** An <img> of a stored image, filled once fetched with the API key; `alt` describes it. */
export function storedImage(imageDataId, alt, maxSize = 160) {
  const img = h("img", { class: "thumb", alt, decoding: "async" });
  imageUrl(imageDataId, maxSize)
    .then((url) => {
      img.src = url;
    })
    .catch(() => img.replaceWith(h("span", { class: "thumb placeholder" }, "no image")));
  return img;
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
