// Following the API's watch streams: `?watch=true&resourceVersion=N` answers with one JSON
// event per line over a chunked response, read here with fetch streaming. One stream per
// kind the current view shows; each resumes from the last resourceVersion it saw, so a
// reconnect misses nothing, and backs off (0.5 s doubling to 30 s) while the server is away.

import * as api from './api.js';

const streams = new Map(); // plural → {controller, rv, failures}
let notify = () => {};
let statusEl = null;

export function attach(element) {
  statusEl = element;
}

// Watch exactly `plurals` from now on, calling `onChange` on each event. `versions` holds the
// resourceVersion of the lists the view was drawn from, so a new stream starts right there.
export function follow(plurals, versions, onChange) {
  notify = onChange;
  const wanted = new Set(plurals);
  for (const [plural, stream] of streams) {
    if (!wanted.has(plural)) {
      stream.controller.abort();
      streams.delete(plural);
    }
  }
  for (const plural of wanted) {
    if (!streams.has(plural)) run(plural, versions.get(plural) ?? null);
  }
  if (!wanted.size) show('idle', 'not watching');
}

export function stopAll() {
  for (const stream of streams.values()) stream.controller.abort();
  streams.clear();
}

async function run(plural, rv) {
  const stream = { controller: new AbortController(), rv, failures: 0 };
  streams.set(plural, stream);
  let connected = false;
  while (streams.get(plural) === stream) {
    try {
      if (stream.rv === null) stream.rv = await api.latestVersion();
      await consume(plural, stream, () => {
        if (connected) notify(); // back after a gap: what changed meanwhile is redrawn
        connected = true;
        stream.failures = 0;
      });
    } catch (err) {
      if (stream.controller.signal.aborted) return;
      if (err instanceof api.Unauthorized) {
        show('off', 'signed out');
        streams.delete(plural);
        return;
      }
      stream.failures += 1;
    }
    if (streams.get(plural) !== stream) return;
    const wait = Math.min(30000, 500 * 2 ** Math.min(stream.failures, 6));
    show('retry', `reconnecting in ${Math.round(wait / 1000)} s`);
    await sleep(wait, stream.controller.signal);
  }
}

async function consume(plural, stream, onOpen) {
  const url = `${api.collection(plural)}?watch=true&resourceVersion=${stream.rv}`;
  const response = await api.request(url, { signal: stream.controller.signal });
  onOpen();
  show('live', 'live');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n');
    while (end >= 0) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (line) handle(stream, JSON.parse(line));
      end = buffer.indexOf('\n');
    }
  }
}

function handle(stream, event) {
  if (event.type === 'ERROR') {
    // The version was compacted or is ahead of the store: start again from now and redraw.
    stream.rv = null;
    notify();
    throw new Error(event.object?.message || 'watch error');
  }
  const rv = event.object?.metadata?.resourceVersion;
  if (rv) stream.rv = Number(rv);
  notify();
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

function show(state, text) {
  if (!statusEl) return;
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}
