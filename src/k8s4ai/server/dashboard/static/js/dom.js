// Building elements and formatting numbers. Views build their DOM with `h` rather than
// HTML strings, so text from the API is never parsed as markup.

export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key === 'className' ? 'class' : key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function section(name, title, ...children) {
  return h('section', { 'data-view': name, 'aria-labelledby': `${name}-title` },
    h('h1', { id: `${name}-title`, tabindex: '-1' }, title), ...children);
}

export function panel(title, ...children) {
  return h('section', { className: 'panel' }, h('h2', {}, title), ...children);
}

// Where the API has no data yet: say so, never show a made-up number.
export function notAvailable(title, why) {
  return h('section', { className: 'panel na', 'data-available': 'false' },
    h('h2', {}, title), h('p', {}, h('strong', {}, 'Not available yet. '), why));
}

export function metric(name, label, value, text, definition) {
  return h('div', { className: 'metric' },
    h('span', { className: 'metric-label' }, label),
    h('span', {
      className: 'metric-value', 'data-metric': name, 'data-value': String(value),
      title: definition,
    }, text ?? formatNumber(value)));
}

export function table(headers, rows, caption) {
  return h('div', { className: 'table-wrap' }, h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))),
    h('tbody', {}, rows)));
}

export function emptyRow(columns, text) {
  return h('tr', {}, h('td', { colspan: String(columns), className: 'empty' }, text));
}

export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return Number(value).toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function formatMoney(dollars) {
  return Number(dollars).toLocaleString('en-US', {
    style: 'currency', currency: 'USD', maximumFractionDigits: dollars >= 100 ? 0 : 2,
  });
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function formatTime(iso) {
  if (!iso) return '—';
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleString('en-GB', { hour12: false });
}

// A link to a job's page, from the gang object or its `namespace/name`.
export function jobLink(gang) {
  const key = typeof gang === 'string' ? gang : `${gang.metadata.namespace}/${gang.metadata.name}`;
  return h('a', { 'data-job': key, href: `#/jobs/${key}` }, key);
}

export function queueLink(name) {
  if (!name) return '—';
  return h('a', { 'data-queue': name, href: `#/queues/${encodeURIComponent(name)}` }, name);
}

export function nodeLink(name) {
  return h('a', { 'data-node': name, href: `#/cluster?node=${encodeURIComponent(name)}` }, name);
}

// A phase as a word and a shape, so it never rests on colour alone.
const PHASE_MARKS = {
  Pending: '◷', Admitted: '▶', Running: '▶', Succeeded: '✓', Failed: '✕', Preempted: '⏸',
};

export function phaseBadge(phase) {
  return h('span', { className: `badge phase-${(phase || 'Pending').toLowerCase()}` },
    h('span', { 'aria-hidden': 'true' }, `${PHASE_MARKS[phase] ?? '•'} `), phase || 'Pending');
}
