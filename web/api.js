// The one fetch wrapper, the console session and the role checks.
//
// The session lives in HttpOnly cookies the page never sees; the page keeps
// only the CSRF token and the user that /console/session answers. Every
// request is same-origin with the cookies; every POST/PUT/PATCH/DELETE sends
// the token as X-CSRF-Token. On a 401 the wrapper refreshes the session once
// (one refresh at a time, shared by every request that got a 401) and
// repeats the request; if that fails too the session is over and the app goes
// to the sign-in page (see setOnExpired).

export const session = { csrf: null, user: null, accountName: null, mustChange: false };

let refreshing = null;
let onExpired = () => {};
let groupCache = null;
let appCache = null;

/** Called once the session is gone (a refresh failed): the app shows the sign-in page. */
export function setOnExpired(fn) {
  onExpired = fn;
}

/** A refusal of the server: its message, code and request id. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || `The server answered ${status}`);
    this.status = status;
    this.code = body?.code || null;
    this.requestId = body?.request_id || null;
    this.retryAfter = retryAfter || null;
  }
}

/** `path` with the non-empty entries of `query` as its query string. */
export function url(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

function adopt(data) {
  session.csrf = data.csrf_token;
  session.user = data.user;
  session.accountName = data.account_name || null;
  session.mustChange = Boolean(data.must_change_password ?? data.user?.must_change_password);
  return data;
}

function forget() {
  session.csrf = null;
  session.user = null;
  session.accountName = null;
  session.mustChange = false;
  groupCache = null;
  appCache = null;
}

function expire() {
  if (!session.user) return;
  forget();
  onExpired();
}

async function failure(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  body = body && typeof body === 'object' ? body : { message: `${res.status} ${res.statusText}` };
  if (!body.request_id) body.request_id = res.headers.get('X-Request-Id');
  return new ApiError(res.status, body, res.headers.get('Retry-After'));
}

function send(method, path, { body, pem, query } = {}) {
  const headers = { Accept: 'application/json' };
  let payload;
  if (pem !== undefined) {
    headers['Content-Type'] = 'application/x-pem-file';
    payload = pem;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  return fetch(url(path, query), {
    method,
    headers,
    body: payload,
    credentials: 'same-origin',
    cache: 'no-store',
  });
}

/** Sends a request; on 401 refreshes the session once and sends it again. */
async function call(method, path, opts) {
  let res = await send(method, path, opts);
  if (res.status === 401) {
    if (await refresh()) res = await send(method, path, opts);
    if (res.status === 401) {
      const err = await failure(res);
      expire();
      throw err;
    }
  }
  return res;
}

/**
 * The API call: `opts.body` (JSON), `opts.pem` (PEM text), `opts.query`.
 * Answers the parsed JSON (text for other types, null for 204); throws ApiError.
 */
export async function api(method, path, opts = {}) {
  const res = await call(method, path, opts);
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, query) => api('GET', path, { query });
export const post = (path, body) => api('POST', path, { body });
export const put = (path, body) => api('PUT', path, { body });
export const patch = (path, body) => api('PATCH', path, { body });
export const del = (path) => api('DELETE', path);
export const postPem = (path, pem) => api('POST', path, { pem });

/** POSTs a JSON body and answers the reply as a Blob (a binary file such as PKCS#12). */
export async function postBlob(path, body) {
  const res = await call('POST', path, { body });
  if (!res.ok) throw await failure(res);
  return res.blob();
}

/** A file of the API as a Blob (downloads that need the session). */
export async function blob(path) {
  const res = await call('GET', path);
  if (!res.ok) throw await failure(res);
  return res.blob();
}

/** Exchanges the session for a new one; true when it worked. Shared by concurrent callers. */
export function refresh() {
  if (!session.csrf) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = fetch('/console/session/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json', 'X-CSRF-Token': session.csrf },
    })
      .then(async (res) => {
        if (!res.ok) return false;
        adopt(await res.json());
        return true;
      })
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** The session of the cookies, if one is alive (at page load). */
export async function restore() {
  // No CSRF cookie: no session (and no request that can only answer 401).
  const csrf = document.cookie.split('; ').find((c) => c.startsWith('skms_csrf='))?.slice(10);
  if (!csrf) return false;
  try {
    const res = await fetch('/console/session', {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
    if (res.ok) {
      adopt(await res.json());
      return true;
    }
  } catch {
    return false;
  }
  // The access token may have expired while the sign-in still runs: the
  // readable skms_csrf cookie holds the CSRF token a refresh needs.
  session.csrf = csrf;
  if (await refresh()) return true;
  session.csrf = null;
  return false;
}

/** Signs in; throws ApiError (401 wrong login, 429 locked with retryAfter). */
export async function signIn(username, password) {
  const res = await fetch('/console/session', {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw await failure(res);
  return adopt(await res.json());
}

/** Signs out (the server ends the session and clears the cookies). */
export async function signOut() {
  const csrf = session.csrf;
  forget();
  try {
    await fetch('/console/session', {
      method: 'DELETE',
      credentials: 'same-origin',
      headers: csrf ? { 'X-CSRF-Token': csrf } : {},
    });
  } catch {
    // Signed out here either way.
  }
}

// ---- who may do what (the server decides; this only hides what it would refuse)

export const role = () => session.user?.role || null;
export const isSysadmin = () => role() === 'sysadmin';
export const isAdmin = () => role() === 'account-admin';
export const mayManageObjects = () => isAdmin() || role() === 'member';
export const mayReadAudit = () => ['sysadmin', 'account-admin', 'auditor'].includes(role());
export const mayManageUsers = () => isSysadmin() || isAdmin();

/** The signed-in user's account id (the session may give the id or {id, name}). */
export function accountId() {
  const a = session.user?.account;
  return a && typeof a === 'object' ? a.id : a || null;
}

/** The account's name, if the session tells it. */
export function accountName() {
  const u = session.user;
  const a = u?.account;
  return session.accountName || u?.account_name || (a && typeof a === 'object' ? a.name : null) || null;
}

/** The account's groups, fetched once per session (`force` to fetch again). */
export async function groups(force = false) {
  if (!groupCache || force) groupCache = get('/v1/groups');
  try {
    return await groupCache;
  } catch (e) {
    groupCache = null;
    throw e;
  }
}

/** Forget the cached groups (after one is created). */
export function groupsChanged() {
  groupCache = null;
}

/** App id → app name, for showing audit actors and creators (empty for a sysadmin or on failure). */
export async function appNames(force = false) {
  if (isSysadmin()) return new Map();
  if (!appCache || force) {
    appCache = get('/v1/apps').then((apps) => new Map(apps.map((a) => [a.id, a.name])), () => new Map());
  }
  return appCache;
}
