// The dashboard's shell: the token, hash routing, drawing the current view, and redrawing
// it when a watch stream reports a change (at most every 500 ms).

import * as api from './api.js';
import { h, section } from './dom.js';
import * as live from './live.js';
import * as cluster from './views/cluster.js';
import * as cost from './views/cost.js';
import * as inference from './views/inference.js';
import * as job from './views/job.js';
import * as jobs from './views/jobs.js';
import * as overview from './views/overview.js';
import * as queue from './views/queue.js';
import * as queues from './views/queues.js';
import * as storage from './views/storage.js';

const VIEWS = { overview, cluster, queues, queue, jobs, job, inference, storage, cost };
const NAV_OF = { queue: 'queues', job: 'jobs' };
const ROUTES = [
  [/^\/?$/, 'overview', []],
  [/^\/overview$/, 'overview', []],
  [/^\/cluster$/, 'cluster', []],
  [/^\/queues$/, 'queues', []],
  [/^\/queues\/([^/]+)$/, 'queue', ['queue']],
  [/^\/jobs$/, 'jobs', []],
  [/^\/jobs\/([^/]+)\/([^/]+)$/, 'job', ['namespace', 'name']],
  [/^\/inference$/, 'inference', []],
  [/^\/storage$/, 'storage', []],
  [/^\/cost$/, 'cost', []],
];
const REDRAW_MS = 500;

export function route() {
  const raw = location.hash.replace(/^#/, '');
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : raw.slice(at + 1));
  for (const [pattern, name, keys] of ROUTES) {
    const match = pattern.exec(path);
    if (match) {
      const params = Object.fromEntries(keys.map((k, i) => [k, decodeURIComponent(match[i + 1])]));
      return { name, path, params, query };
    }
  }
  return { name: 'notfound', path, params: {}, query };
}

// What one drawing of a view reads: each call is made once per drawing, and the
// resourceVersion of each answer is kept so the watch streams start where the data ends.
const COST_REDRAW_MS = 10000;

function context(current, fresh) {
  const calls = new Map();
  const versions = new Map();
  const seen = (plurals, body) => {
    const rv = Number(body.metadata?.resourceVersion);
    for (const plural of plurals) {
      if (!versions.has(plural) || rv < versions.get(plural)) versions.set(plural, rv);
    }
    return body;
  };
  const once = (key, load) => {
    if (!calls.has(key)) calls.set(key, load());
    return calls.get(key);
  };
  return {
    route: current,
    params: current.params,
    query: current.query,
    now: Date.now(),
    versions,
    list(plural, namespace) {
      return once(`list|${plural}|${namespace || ''}`,
        () => api.list(plural, namespace).then((body) => seen([plural], body).items));
    },
    page(plural, params) {
      return once(`page|${plural}|${JSON.stringify(params || {})}`,
        () => api.page(plural, params).then((body) => seen([plural], body)));
    },
    summary() {
      return once('summary', () => api.summary()
        .then((body) => seen(['gangschedulinggroups', 'nodes', 'queues'], body)));
    },
    occupancy(nodes) {
      return once(`occupancy|${(nodes || []).join(',')}`, () => api.occupancy(nodes)
        .then((body) => seen(['gangschedulinggroups', 'nodes'], body)));
    },
    get: api.get,
    costs() {
      return once('costs', () => api.reused('cost', COST_REDRAW_MS, api.costSummary, fresh));
    },
    storage() {
      return once('storage', () => api.reused('storage', COST_REDRAW_MS, api.storage, fresh)
        .then((body) => seen(['checkpointpolicies', 'gangschedulinggroups'], body)));
    },
    // Findings, or null when the server has no cost source (or it failed).
    findings() {
      return once('findings', () => this.costs().then((costs) => (costs.configured && costs.up
        ? api.reused('findings', COST_REDRAW_MS, api.findings, fresh) : null)));
    },
  };
}

const notFound = {
  render: async (ctx) => section('notfound', 'Page not found',
    h('p', {}, `Nothing is shown at #${ctx.route.path}. `, h('a', { href: '#/overview' }, 'Go to the overview'), '.')),
};

let generation = 0;
let shownPath = null;

async function render(reason) {
  const mine = ++generation;
  const current = route();
  const view = VIEWS[current.name] || notFound;
  const navigated = reason === 'navigate' && current.path !== shownPath;
  markNav(NAV_OF[current.name] || current.name);
  const ctx = context(current, navigated);
  let element;
  try {
    element = await view.render(ctx);
  } catch (err) {
    if (mine !== generation) return;
    if (err instanceof api.Unauthorized) {
      live.stopAll();
      api.setToken('');
      signIn(err.message);
      return;
    }
    element = failure(current.name, err);
  }
  if (mine !== generation) return;
  hideSignIn();
  swap(element, navigated);
  shownPath = current.path;
  if (!element.dataset.error) element.dataset.ready = 'true';
  live.follow(view.watches || [], ctx.versions, schedule);
  if (navigated && view.mounted) view.mounted(element, ctx);
}

function failure(name, err) {
  const el = section(name, 'Could not load this view',
    h('p', { role: 'alert', className: 'error' }, err.message || String(err)));
  el.dataset.error = 'true';
  return el;
}

// Replace the view, keeping keyboard focus on the same control or link across a redraw.
function swap(element, navigated) {
  const main = document.getElementById('view');
  const focus = navigated ? null : focusSelector(document.activeElement);
  main.replaceChildren(element);
  if (navigated) {
    window.scrollTo(0, 0);
    element.querySelector('h1')?.focus({ preventScroll: true });
  } else if (focus) {
    main.querySelector(focus)?.focus({ preventScroll: true });
  }
}

function focusSelector(el) {
  if (!el || el === document.body || !document.getElementById('view').contains(el)) return null;
  if (el.id) return `#${CSS.escape(el.id)}`;
  for (const attr of ['data-job', 'data-queue', 'data-node', 'data-gpu']) {
    if (el.hasAttribute(attr)) return `[${attr}="${CSS.escape(el.getAttribute(attr))}"]`;
  }
  return null;
}

// Live redraws: at most one every REDRAW_MS (or the view's own redrawMs), never two at
// once (a slow drawing is not abandoned for the next event; events meanwhile cause one more).
let timer = null;
let drawing = false;
let again = false;
let lastDraw = 0;

function schedule() {
  if (timer) return;
  timer = setTimeout(async () => {
    timer = null;
    if (drawing) {
      again = true;
      return;
    }
    drawing = true;
    lastDraw = Date.now();
    await render('live');
    drawing = false;
    if (again) {
      again = false;
      schedule();
    }
  }, Math.max(0, lastDraw + (VIEWS[route().name]?.redrawMs ?? REDRAW_MS) - Date.now()));
}

function markNav(name) {
  for (const link of document.querySelectorAll('nav a[data-nav]')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function signIn(message) {
  const form = document.getElementById('signin');
  document.getElementById('signin-message').textContent = message;
  form.hidden = false;
  document.getElementById('view').replaceChildren();
  document.getElementById('signin-token').focus();
}

function hideSignIn() {
  document.getElementById('signin').hidden = true;
}

function start() {
  api.takeTokenFromHash();
  live.attach(document.getElementById('live-status'));
  document.querySelector('a.skip').addEventListener('click', (event) => {
    event.preventDefault(); // `#view` is not a route: move focus without touching the hash
    document.getElementById('view').focus();
  });
  document.getElementById('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('signin-token');
    api.setToken(input.value.trim());
    input.value = '';
    shownPath = null;
    render('navigate');
  });
  window.addEventListener('hashchange', () => render('navigate'));
  render('navigate');
}

start();
