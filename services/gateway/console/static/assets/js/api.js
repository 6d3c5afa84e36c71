// The REST API of this gateway, called with the signed-in user's credentials: an API key, or
// the access token of an OIDC sign-in (oidc.js). They live in sessionStorage: gone when the tab
// closes, and never sent anywhere but this origin and the GraphQL service.

const KEY = "facegate.apiKey";
const TOKEN = "facegate.accessToken";

export const session = {
  /** Whether someone signed in (with a key, "" where the API runs open, or a token). */
  get signedIn() {
    return sessionStorage.getItem(KEY) !== null || sessionStorage.getItem(TOKEN) !== null;
  },
  signIn(key) {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.setItem(KEY, key);
  },
  signInWithToken(token) {
    sessionStorage.removeItem(KEY);
    sessionStorage.setItem(TOKEN, token);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(TOKEN);
    for (const url of imageCache.values()) URL.revokeObjectURL(url);
    imageCache.clear();
  },
};

/** A refused call: `detail` is the problem details' reason (RFC 7807), as the API wrote it. */
export class ApiError extends Error {
  constructor(status, problem) {
    const fields = Object.entries(problem.errors || {}).map(([name, why]) => `${name}: ${[why].flat().join(", ")}`);
    const detail = problem.detail || problem.title || `HTTP ${status}`;
    super(fields.length ? `${detail} (${fields.join("; ")})` : detail);
    this.status = status;
    this.problem = problem;
  }
}

/** The signed-in user's credentials as request headers (with `extra`); also what GraphQL's
 * connection_init carries. */
export function authHeaders(extra = {}) {
  const token = sessionStorage.getItem(TOKEN);
  if (token) return { Authorization: `Bearer ${token}`, ...extra };
  const key = sessionStorage.getItem(KEY);
  return key ? { "X-API-Key": key, ...extra } : extra;
}

/** Call the API; the parsed JSON answer (null for 204), or an ApiError. */
export async function api(method, path, body) {
  const init = { method, headers: authHeaders({ Accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      // not JSON (a proxy's page): the status says enough
    }
    const error = new ApiError(response.status, problem);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("facegate:unauthorized", { detail: error }));
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

/** A query string of the defined values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Every item of a paged list (SmartFace's PageNumber/PageSize), up to `limit`. */
export async function allPages(path, limit = 1000) {
  const items = [];
  for (let page = 1; items.length < limit; page++) {
    const answer = await api("GET", `${path}${path.includes("?") ? "&" : "?"}PageNumber=${page}&PageSize=100`);
    items.push(...answer.items);
    if (!answer.nextPage || answer.items.length === 0) break;
  }
  return items;
}

const imageCache = new Map();

/** An object URL for a stored image (`GET /api/v1/Images/{id}`): an <img src> cannot send the
 * API key, so the image is fetched with it and shown from memory. */
export async function imageUrl(id, maxSize = 160) {
  const cacheKey = `${id}@${maxSize}`;
  if (!imageCache.has(cacheKey)) {
    const response = await fetch(`/api/v1/Images/${encodeURIComponent(id)}${query({ maxSize })}`, { headers: authHeaders() });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
    imageCache.set(cacheKey, URL.createObjectURL(await response.blob()));
  }
  return imageCache.get(cacheKey);
}

/** The base64 of a file or blob, as the API takes images (`{"data": ...}`). */
export function base64Of(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** The GraphQL URL the gateway named in the page (FACEGATE_GRAPHQL_URL or this host's GraphQL port). */
export function graphqlUrl() {
  return document.querySelector('meta[name="facegate-graphql"]').content;
}
