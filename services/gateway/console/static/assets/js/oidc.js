// Sign-in through the identity provider (OIDC authorization code with PKCE, RFC 7636): the
// console is a public client (no secret in a browser), the provider sends the browser back to
// /console/ with a one-time code, and the console trades it, with the verifier only this tab
// knows, for an access token at the provider's token endpoint. The API verifies that token as it
// verifies any bearer token (README, Security); the console never sees a password.

const PENDING = "facegate.oidcPending";

/** The sign-in the gateway configured ({issuer, clientId, scope}), or null for API keys only. */
export function oidcSettings() {
  const meta = (name) => document.querySelector(`meta[name="facegate-oidc-${name}"]`)?.content || "";
  const issuer = meta("issuer");
  const clientId = meta("client-id");
  return issuer && clientId ? { issuer, clientId, scope: meta("scope") || "openid" } : null;
}

function redirectUri() {
  return `${location.origin}/console/`;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function discover(issuer) {
  const response = await fetch(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the identity provider's configuration is unreadable (HTTP ${response.status})`);
  return response.json();
}

/** Send the browser to the identity provider; it comes back to /console/ with a code. */
export async function startSignIn(settings) {
  if (!crypto.subtle) throw new Error("signing in needs https:// (or localhost): the browser hides its crypto API here");
  const config = await discover(settings.issuer);
  const verifier = randomString(48);
  const state = randomString(16);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const back = location.hash && location.hash !== "#/signin" ? location.hash : "";
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, tokenEndpoint: config.token_endpoint, back }));
  const url = new URL(config.authorization_endpoint);
  for (const [name, value] of Object.entries({
    response_type: "code", client_id: settings.clientId, redirect_uri: redirectUri(), scope: settings.scope,
    state, code_challenge: challenge, code_challenge_method: "S256",
  })) url.searchParams.set(name, value);
  location.assign(url.href);
}

/** On the provider's way back: the access token (and the page to go on to); null when this page
 * load is no such return. Throws with the reason when the provider refused or the answer is not
 * this tab's. */
export async function finishSignIn(settings) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", `${location.pathname}${pending?.back || ""}`); // the code is used up
  if (params.has("error")) throw new Error(`the identity provider refused: ${params.get("error_description") || params.get("error")}`);
  if (!pending || params.get("state") !== pending.state) throw new Error("this sign-in answer was not asked for by this tab; sign in again");
  const response = await fetch(pending.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
      client_id: settings.clientId, code_verifier: pending.verifier,
    }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.access_token) {
    throw new Error(`the identity provider gave no token: ${answer.error_description || answer.error || `HTTP ${response.status}`}`);
  }
  return answer.access_token;
}
