// One member: names and note, their faces with photos, add faces (AddNewFace, one photo at a
// time so each refusal stays beside its photo), remove a face, delete the member.

import { allPages, api, base64Of } from "./api.js";
import { announce, busy, field, fill, h, when } from "./dom.js";
import { photoPicker } from "./photos.js";
import { storedImage } from "./thumbs.js";

/** #/members/{id} */
export async function renderOne(main, id) {
  const path = `/api/v1/WatchlistMembers/${encodeURIComponent(id)}`;
  let member = await api("GET", path);
  const faces = h("ul", { class: "faces", "aria-label": "Faces" });
  const title = h("h1", {}, nameOf(member));

  async function loadFaces() {
    const found = await allPages(`${path}/Faces`, 200);
    fill(faces, found.length ? found.map((face) => faceCard(face, loadFaces)) : h("li", { class: "muted" }, "No face: add one below."));
  }

  function faceCard(face, changed) {
    const remove = h("button", { type: "button", class: "quiet small", "aria-label": `Remove the face of ${when(face.createdAt)}` }, "Remove");
    remove.addEventListener("click", () => {
      if (!confirm("Remove this face? The member is no longer recognised from it.")) return;
      busy(remove, async () => {
        await api("POST", `${path}/RemoveFace`, { faceId: face.id });
        announce("Face removed.", "ok");
        await changed();
      }).catch((error) => announce(error.message, "error"));
    });
    const picture = face.imageDataId
      ? storedImage(face.imageDataId, `Face of ${nameOf(member)}, added ${when(face.createdAt)}`, 240)
      : h("span", { class: "thumb placeholder" }, "no image kept");
    return h(
      "li",
      { class: "face" },
      picture,
      h("small", {}, `Added ${when(face.createdAt)}`),
      h("small", {}, `Quality ${face.quality}`),
      remove,
    );
  }

  const fullName = h("input", { name: "fullName", maxlength: 200, value: member.fullName ?? "" });
  const displayName = h("input", { name: "displayName", maxlength: 200, value: member.displayName ?? "" });
  const note = h("textarea", { name: "note", rows: 2, value: member.note ?? "" });
  const save = h("button", { type: "submit" }, "Save member");
  const editMessage = h("p", { class: "note error", role: "alert", hidden: true });
  const edit = h("form", { class: "grid-form" }, field("Full name", fullName), field("Display name", displayName), field("Note", note), editMessage, h("div", { class: "actions" }, save));
  edit.addEventListener("submit", (event) => {
    event.preventDefault();
    editMessage.hidden = true;
    busy(save, async () => {
      // PUT replaces the member: labels and privacy go back as they were.
      member = await api("PUT", "/api/v1/WatchlistMembers", {
        id, fullName: fullName.value.trim(), displayName: displayName.value.trim(), note: note.value.trim() || null,
        labels: member.labels, privacy: member.privacy,
      });
      title.textContent = nameOf(member);
      announce(`${nameOf(member)} saved.`, "ok");
    }).catch((error) => {
      editMessage.hidden = false;
      editMessage.textContent = error.message;
    });
  });

  const picker = photoPicker("New photos of the face");
  const add = h("button", { type: "button" }, "Add faces");
  add.addEventListener("click", () =>
    busy(add, async () => {
      const chosen = picker.photos();
      let added = 0;
      for (const [index, photo] of chosen.entries()) {
        try {
          await api("POST", `${path}/AddNewFace`, { imageData: { data: await base64Of(photo.blob) } });
          picker.say(index, "Added", "ok");
          added++;
        } catch (error) {
          picker.say(index, error.message.replace(/^Image \d+: /, ""), "error");
        }
      }
      announce(`${added} of ${chosen.length} photo${chosen.length === 1 ? "" : "s"} added.`, added === chosen.length ? "ok" : "error");
      await loadFaces();
    }),
  );

  const remove = h("button", { type: "button", class: "danger" }, "Delete member");
  remove.addEventListener("click", () => {
    if (!confirm(`Delete ${nameOf(member)} with every face, from every watchlist?`)) return;
    busy(remove, async () => {
      await api("DELETE", path);
      announce(`${nameOf(member)} deleted.`, "ok");
      history.back();
    }).catch((error) => announce(error.message, "error"));
  });

  // The faces are fetched before the page replaces "Loading…": a page whose "Faces" heading
  // stands over a list still empty would say, for a moment, that the member has none.
  await loadFaces();
  fill(
    main,
    h("p", {}, h("a", { href: "#/watchlists" }, "← Watchlists")),
    title,
    h("section", { "aria-labelledby": "faces-title" }, h("h2", { id: "faces-title" }, "Faces"), faces),
    h("section", { class: "card", "aria-labelledby": "add-title" }, h("h2", { id: "add-title" }, "Add faces"), picker.element, h("div", { class: "actions" }, add)),
    h("section", { class: "card", "aria-labelledby": "details-title" }, h("h2", { id: "details-title" }, "Details"), edit, h("div", { class: "actions" }, remove)),
  );
}

function nameOf(member) {
  return member.fullName || member.displayName || member.id;
}
