// Jobs: every gang with its queue, phase, size and reason, filtered by text and phase in
// the page (no new request while typing). Reads gangs and accelerator classes.

import {
  formatDuration, formatNumber, h, jobLink, metric, phaseBadge, queueLink, section, table,
  emptyRow,
} from '../dom.js';
import * as model from '../model.js';

export const watches = ['gangschedulinggroups'];
const PHASES = ['Pending', 'Admitted', 'Running', 'Preempted', 'Succeeded', 'Failed'];
const MAX_ROWS = 500;

const filter = { text: '', phase: '' }; // kept across redraws

export async function render(ctx) {
  const [gangs, classes] = await Promise.all([ctx.list('gangschedulinggroups'), ctx.list('acceleratorclasses')]);
  const classMap = model.byName(classes);
  gangs.sort((a, b) => model.key(a).localeCompare(model.key(b)));
  const counts = new Map(PHASES.map((p) => [p, 0]));
  for (const g of gangs) counts.set(model.phase(g), (counts.get(model.phase(g)) || 0) + 1);

  const body = h('tbody', {});
  const status = h('p', { className: 'note', role: 'status' });
  const refill = () => fill(body, status, gangs, classMap, ctx.now);
  const text = h('input', {
    id: 'jobs-filter', type: 'search', value: filter.text, placeholder: 'name, namespace, queue…',
    oninput: (event) => { filter.text = event.target.value; refill(); },
  });
  const phase = h('select', {
    id: 'jobs-phase', onchange: (event) => { filter.phase = event.target.value; refill(); },
  }, h('option', { value: '' }, 'all phases'),
  PHASES.map((p) => h('option', { value: p, selected: p === filter.phase }, p)));
  refill();

  return section('jobs', 'Jobs',
    h('div', { className: 'metrics' },
      metric('jobs-total', 'Jobs', gangs.length),
      PHASES.map((p) => metric(`phase-${p.toLowerCase()}`, p, counts.get(p) || 0, null, `Gangs in phase ${p}`))),
    h('form', { className: 'filters', role: 'search', onsubmit: (event) => event.preventDefault() },
      h('label', { for: 'jobs-filter' }, 'Filter '), text,
      h('label', { for: 'jobs-phase' }, ' Phase '), phase),
    status,
    h('div', { className: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Job', 'Queue', 'Phase', 'Pods', 'GPUs', 'Priority', 'Age / waiting', 'Reason']
        .map((name) => h('th', { scope: 'col' }, name)))),
      body)));
}

function fill(body, status, gangs, classes, now) {
  const needle = filter.text.trim().toLowerCase();
  const matching = gangs.filter((g) => (!filter.phase || model.phase(g) === filter.phase)
    && (!needle || `${model.key(g)} ${g.spec.queue}`.toLowerCase().includes(needle)));
  const shown = matching.slice(0, MAX_ROWS);
  body.replaceChildren(...(shown.length ? shown.map((g) => row(g, classes, now))
    : [emptyRow(8, 'No job matches.')]));
  status.textContent = matching.length > shown.length
    ? `Showing ${shown.length} of ${matching.length} matching jobs; narrow the filter to see others.`
    : `${matching.length} job${matching.length === 1 ? '' : 's'}.`;
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
