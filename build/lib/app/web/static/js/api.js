// The public API, called with the bearer token from sign-in. The token lives in this module's memory only:
// never localStorage or a cookie, so other scripts cannot read it and no request is sent with it implicitly
// (hence no CSRF). Reloading the page signs you out.

const API = "api/v1";
let session = null; // { token, expiresAt (ms), me }
let expiryTimer = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** Called with a reason ("expired", "signed-out") whenever the session ends. */
export function onSessionEnd(listener) {
  listeners.add(listener);
}

function end(reason) {
  const had = session !== null;
  session = null;
  clearTimeout(expiryTimer);
  if (had) listeners.forEach((listener) => listener(reason));
}

export function signOut() {
  end("signed-out");
}

export function currentUser() {
  return session?.me ?? null;
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { detail: response.statusText };
  }
}

/** Sign in with e-mail and password; resolves to `/auth/me`. Rejects with an ApiError (401: wrong credentials). */
export async function signIn(email, password) {
  const body = new URLSearchParams({ username: email, password });
  const response = await fetch(`${API}/auth/token`, { method: "POST", body });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const token = await response.json();
  session = { token: token.access_token, expiresAt: Date.now() + token.expires_in * 1000, me: null };
  clearTimeout(expiryTimer);
  expiryTimer = setTimeout(() => end("expired"), token.expires_in * 1000);
  session.me = await get("auth/me");
  return session.me;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, item);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function request(method, path, { params, json, accept } = {}) {
  if (!session) throw new ApiError(401, { detail: "Not signed in" });
  const headers = { Authorization: `Bearer ${session.token}`, Accept: accept || "application/json" };
  const init = { method, headers };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(`${API}/${path}${query(params)}`, init);
  if (response.status === 401) {
    end("expired");
    throw new ApiError(401, await problemOf(response));
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response;
}

/** GET `api/v1/<path>` with `params` (arrays repeat the key); resolves to the parsed JSON. */
export async function get(path, params) {
  return (await request("GET", path, { params })).json();
}

/** GET as text (CSV downloads). */
export async function getText(path, params, accept) {
  return (await request("GET", path, { params, accept })).text();
}

/** POST JSON; resolves to the parsed JSON answer (or null for 204). */
export async function post(path, json, params) {
  const response = await request("POST", path, { json, params });
  return response.status === 204 ? null : response.json();
}

/** DELETE; resolves to the parsed JSON answer (or null for 204). */
export async function del(path, params) {
  const response = await request("DELETE", path, { params });
  return response.status === 204 ? null : response.json();
}

/** The analytics query (`GET /api/v1/analytics/cost`, docs/analytics.md). */
export function cost(params) {
  return get("analytics/cost", params);
}
