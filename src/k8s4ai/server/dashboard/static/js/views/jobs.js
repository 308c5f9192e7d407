// Jobs: gangs with their queue, phase, size and reason, a page at a time (the phase filter is
// a field selector, so the server sends only matching jobs; the text filter narrows the rows
// loaded so far, with no new request while typing). Reads /api/v1/summary for the counts,
// pages of gangs, and accelerator classes.

import * as api from '../api.js';
import {
  formatDuration, formatNumber, h, jobLink, metric, phaseBadge, queueLink, section,
  emptyRow,
} from '../dom.js';
import * as model from '../model.js';

export const watches = ['gangschedulinggroups'];
const PHASES = ['Pending', 'Admitted', 'Running', 'Preempted', 'Succeeded', 'Failed'];
const PAGE = 200;

const filter = { text: '', phase: '' }; // kept across redraws

function pageParams(phase, next) {
  return { fieldSelector: phase ? `status.phase=${phase}` : undefined, limit: PAGE, continue: next };
}

export async function render(ctx) {
  const [summary, first, classes] = await Promise.all([
    ctx.summary(), ctx.page('gangschedulinggroups', pageParams(filter.phase)),
    ctx.list('acceleratorclasses'),
  ]);
  const classMap = model.byName(classes);
  const now = new Date(summary.time).getTime();
  const loaded = { gangs: [...first.items], next: first.metadata.continue || null };
  const inAll = () => (filter.phase ? summary.jobs.phases[filter.phase] ?? 0 : summary.jobs.total);

  const body = h('tbody', {});
  const status = h('p', { className: 'note', role: 'status' });
  const more = h('button', { type: 'button', id: 'jobs-more', hidden: !loaded.next }, `Load ${PAGE} more`);
  const refill = () => {
    fill(body, status, loaded, inAll(), classMap, now);
    more.hidden = !loaded.next;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const next = await api.page('gangschedulinggroups', pageParams(filter.phase, loaded.next));
      loaded.gangs.push(...next.items);
      loaded.next = next.metadata.continue || null;
      refill();
    } finally {
      more.disabled = false;
    }
  });
  const text = h('input', {
    id: 'jobs-filter', type: 'search', value: filter.text, placeholder: 'name, namespace, queue…',
    oninput: (event) => { filter.text = event.target.value; refill(); },
  });
  const phase = h('select', {
    id: 'jobs-phase',
    onchange: async (event) => {
      filter.phase = event.target.value;
      const page = await api.page('gangschedulinggroups', pageParams(filter.phase));
      Object.assign(loaded, { gangs: [...page.items], next: page.metadata.continue || null });
      refill();
    },
  }, h('option', { value: '' }, 'all phases'),
  PHASES.map((p) => h('option', { value: p, selected: p === filter.phase }, p)));
  refill();

  return section('jobs', 'Jobs',
    h('div', { className: 'metrics' },
      metric('jobs-total', 'Jobs', summary.jobs.total, null, 'Gangs (/api/v1/summary jobs.total)'),
      PHASES.map((p) => metric(`phase-${p.toLowerCase()}`, p, summary.jobs.phases[p] ?? 0, null,
        `Gangs in phase ${p} (/api/v1/summary jobs.phases)`))),
    h('form', { className: 'filters', role: 'search', onsubmit: (event) => event.preventDefault() },
      h('label', { for: 'jobs-filter' }, 'Filter '), text,
      h('label', { for: 'jobs-phase' }, ' Phase '), phase),
    status,
    h('div', { className: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Job', 'Queue', 'Phase', 'Pods', 'GPUs', 'Priority', 'Age / waiting', 'Reason']
        .map((name) => h('th', { scope: 'col' }, name)))),
      body)),
    more);
}

function fill(body, status, loaded, of, classes, now) {
  const needle = filter.text.trim().toLowerCase();
  const matching = loaded.gangs.filter((g) => !needle
    || `${model.key(g)} ${g.spec.queue}`.toLowerCase().includes(needle));
  body.replaceChildren(...(matching.length ? matching.map((g) => row(g, classes, now))
    : [emptyRow(8, 'No job matches.')]));
  const scope = filter.phase ? `${filter.phase} jobs` : 'jobs';
  status.textContent = `${matching.length} shown of ${loaded.gangs.length} loaded (${of} ${scope} in all, `
    + 'in namespace and name order)' + (loaded.next ? '; load more to see the rest.' : '.');
}

function row(gang, classes, now) {
  const cond = model.condition(gang, 'Admitted');
  const created = gang.metadata.creationTimestamp ? (now - new Date(gang.metadata.creationTimestamp)) / 1000 : null;
  const age = model.waits(gang) ? `waiting ${formatDuration(model.waitSeconds(gang, now))}` : formatDuration(created);
  return h('tr', {},
    h('th', { scope: 'row' }, jobLink(gang)),
    h('td', {}, queueLink(gang.spec.queue)),
    h('td', {}, phaseBadge(model.phase(gang))),
    h('td', { className: 'num' }, String(gang.spec.podSets.reduce((t, ps) => t + (ps.count || 1), 0))),
    h('td', { className: 'num' }, formatNumber(model.gangGpus(gang, classes))),
    h('td', { className: 'num' }, String(gang.spec.priority ?? 0)),
    h('td', {}, age),
    h('td', {}, model.holds(gang) ? '—' : (cond?.reason || '—')));
}
