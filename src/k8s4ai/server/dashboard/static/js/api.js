// Every data call of the dashboard goes here: the public HTTP API, with the user's bearer
// token. The token lives in sessionStorage (gone when the tab closes), never in the URL.

export const GROUP = '/apis/k8s4ai.io/v1alpha1';
const TOKEN_KEY = 'k8s4ai.token';

export class Unauthorized extends Error {}

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// `#token=...` (as `k8s4ai up` prints it) or `#/jobs?token=...`: keep the token, then take
// it out of the address bar and the history.
export function takeTokenFromHash() {
  const raw = location.hash.replace(/^#/, '');
  const [path, query] = raw.startsWith('/') ? splitOnce(raw, '?') : ['', raw];
  const params = new URLSearchParams(query);
  if (!params.has('token')) return;
  setToken(params.get('token'));
  params.delete('token');
  const rest = params.toString();
  const hash = `#${path || '/overview'}${rest ? `?${rest}` : ''}`;
  history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

export async function request(path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) throw new Unauthorized(await messageOf(response));
  if (!response.ok) throw new ApiError(response.status, await messageOf(response));
  return response;
}

async function messageOf(response) {
  try {
    const body = await response.json();
    return body.message || response.statusText;
  } catch {
    return response.statusText || `HTTP ${response.status}`;
  }
}

export async function getJSON(path) {
  return (await request(path)).json();
}

export function collection(plural, namespace) {
  return namespace
    ? `${GROUP}/namespaces/${encodeURIComponent(namespace)}/${plural}`
    : `${GROUP}/${plural}`;
}

export function list(plural, namespace) {
  return getJSON(collection(plural, namespace));
}

export function get(plural, name, namespace) {
  return getJSON(`${collection(plural, namespace)}/${encodeURIComponent(name)}`);
}

// The store's latest resourceVersion, the cheapest way to read it (`wait` without a version).
export async function latestVersion() {
  return Number((await getJSON(`${GROUP}/wait`)).resourceVersion);
}

export function allocation(params) {
  return getJSON(`/api/v1/allocation?${new URLSearchParams(params)}`);
}

// /metrics needs no token; read as text and parsed by prom.js.
export async function metricsText() {
  const response = await fetch('/metrics');
  if (!response.ok) throw new ApiError(response.status, `/metrics answered ${response.status}`);
  return response.text();
}

const recentReports = new Map();

// A cost report prices the whole ledger, so live redraws reuse one younger than `ttlMs`
// instead of asking again on every watch event.
export function allocationCached(params, ttlMs) {
  const key = new URLSearchParams(params).toString();
  const hit = recentReports.get(key);
  if (hit && Date.now() - hit.at < ttlMs) return hit.report;
  const report = allocation(params);
  recentReports.set(key, { at: Date.now(), report });
  report.catch(() => recentReports.delete(key));
  return report;
}
