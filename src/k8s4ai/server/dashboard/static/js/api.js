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

// The cluster at a glance (GPUs per class, jobs per phase, queue backlogs), computed by the
// server once per change: see src/k8s4ai/server/summary.py for each definition.
export function summary() {
  return getJSON('/api/v1/summary');
}

// Per node: GPU groups, place in the topology, fence, and who holds what. All nodes, or the
// ones named.
export function occupancy(nodes) {
  const params = new URLSearchParams();
  for (const name of nodes || []) params.append('node', name);
  const query = params.toString();
  return getJSON(`/api/v1/occupancy${query ? `?${query}` : ''}`);
}

// One page of a list: `fieldSelector`, `labelSelector`, `limit` and `continue` as the
// Kubernetes list API takes them.
export function page(plural, { namespace, ...params } = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  return getJSON(`${collection(plural, namespace)}?${query}`);
}

// Checkpoint storage per policy and job, and the ledger's volumes (null without a cost source).
export function storage() {
  return getJSON('/api/v1/storage');
}

// FinOps findings over the last week (ask only when /api/v1/cost says a source exists).
export function findings() {
  return getJSON('/api/v1/findings');
}

// Cost rate and month to date, or `configured: false` when the server has no cost source
// and `up: false` when the source failed (503).
export async function costSummary() {
  try {
    const body = await getJSON('/api/v1/cost');
    if (!body.configured) return { configured: false };
    return {
      configured: true, up: true, rate: body.hourly.total, allocated: body.hourly.allocated,
      idle: body.hourly.idle, month: body.monthToDate.total,
      storageMonth: body.monthToDate.byResource.storage, gpus: body.gpus,
    };
  } catch (err) {
    if (err instanceof ApiError && err.code === 503) return { configured: true, up: false, problem: err.message };
    throw err;
  }
}

const recent = new Map();

// Answers priced from the whole cost ledger (reports, the cost rate, findings): on a living
// cluster every write makes the server build a new cost view, so live redraws reuse an answer
// younger than `ttlMs` instead of asking again on every watch event. A view opened anew asks
// afresh (`fresh`).
export function reused(key, ttlMs, load, fresh = false) {
  const hit = recent.get(key);
  if (!fresh && hit && Date.now() - hit.at < ttlMs) return hit.answer;
  const answer = load();
  recent.set(key, { at: Date.now(), answer });
  answer.catch(() => recent.delete(key));
  return answer;
}

export function allocationCached(params, ttlMs) {
  return reused(`allocation?${new URLSearchParams(params)}`, ttlMs, () => allocation(params));
}
