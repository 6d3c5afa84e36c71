// A camera's live preview (GET /api/v1/Cameras/{id}/Preview, MJPEG) shown in an <img>. An <img src>
// cannot send the API key, so the stream is fetched with it and each JPEG part (found by its
// Content-Length) is shown as a blob: URL.

import { authHeaders } from "./api.js";

const HEADER_END = [13, 10, 13, 10]; // \r\n\r\n

function indexOf(bytes, pattern, from = 0) {
  outer: for (let i = from; i <= bytes.length - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

/** Show the preview of `cameraId` in `img`; `onState(text)` hears "live", an error, or "ended".
 * Returns stop(). */
export function playPreview(cameraId, img, onState) {
  const controller = new AbortController();
  let shown = null;

  function show(jpeg) {
    const url = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
    img.onload = () => {
      if (shown) URL.revokeObjectURL(shown);
      shown = url;
    };
    img.src = url;
  }

  (async () => {
    const response = await fetch(`/api/v1/Cameras/${encodeURIComponent(cameraId)}/Preview`, {
      headers: authHeaders(),
      signal: controller.signal,
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem.detail || `HTTP ${response.status}`);
    }
    onState("live");
    const reader = response.body.getReader();
    let buffer = new Uint8Array(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const joined = new Uint8Array(buffer.length + value.length);
      joined.set(buffer);
      joined.set(value, buffer.length);
      buffer = joined;
      for (;;) {
        const end = indexOf(buffer, HEADER_END);
        if (end < 0) break;
        const header = new TextDecoder().decode(buffer.subarray(0, end));
        const length = Number(/content-length:\s*(\d+)/i.exec(header)?.[1]);
        if (!length) throw new Error("not an MJPEG stream");
        const start = end + HEADER_END.length;
        if (buffer.length < start + length) break; // the rest of this JPEG is still coming
        show(buffer.slice(start, start + length));
        buffer = buffer.slice(start + length);
      }
    }
    onState("ended: no frame for a while (is the camera online?)");
  })().catch((error) => {
    if (error.name !== "AbortError") onState(`stopped: ${error.message}`);
  });

  return () => {
    controller.abort();
    if (shown) URL.revokeObjectURL(shown);
  };
}
