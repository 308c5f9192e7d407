// One queue: its quotas per resource and class against usage and borrowing, its conditions,
// and its jobs, each with its phase and the reason admission gave. Reads the queue, gangs
// (one page of this queue's, by field selector), /api/v1/summary and accelerator classes.

import * as api from '../api.js';
import {
  emptyRow, formatDuration, formatNumber, formatTime, h, jobLink, metric, panel, phaseBadge,
  section, table,
} from '../dom.js';
import * as model from '../model.js';

export const watches = ['queues', 'gangschedulinggroups'];
const MAX_ROWS = 500;

export async function render(ctx) {
  const name = ctx.params.queue;
  let queue;
  try {
    queue = await ctx.get('queues', name);
  } catch (err) {
    if (err instanceof api.ApiError && err.code === 404) {
      return section('queue', `Queue ${name}`, h('p', { role: 'alert' }, `No queue named ${name}.`),
        h('p', {}, h('a', { href: '#/queues' }, 'All queues')));
    }
    throw err;
  }
  const [listed, summary, classes] = await Promise.all([
    ctx.page('gangschedulinggroups', { fieldSelector: `spec.queue=${name}`, limit: MAX_ROWS }),
    ctx.summary(), ctx.list('acceleratorclasses'),
  ]);
  const classMap = model.byName(classes);
  const now = new Date(summary.time).getTime();
  const mine = listed.items;
  const total = summary.queues.backlog.find((q) => q.name === name)?.jobs ?? 0;
  const order = { Pending: 0, Preempted: 1, Admitted: 2, Running: 3, Failed: 4, Succeeded: 5 };
  mine.sort((a, b) => (order[model.phase(a)] ?? 9) - (order[model.phase(b)] ?? 9)
    || model.key(a).localeCompare(model.key(b)));

  return section('queue', `Queue ${name}`,
    h('p', {}, h('a', { href: '#/queues' }, '← All queues'),
      queue.spec.cohort ? ` · cohort ${queue.spec.cohort}` : ' · no cohort',
      ` · weight ${formatNumber(queue.spec.weight)}`,
      queue.spec.namespaces?.length ? ` · namespaces ${queue.spec.namespaces.join(', ')}` : ''),
    h('div', { className: 'metrics' },
      metric('queue-pending', 'Pending', queue.status?.pending ?? 0, null, 'status.pending'),
      metric('queue-admitted', 'Admitted', queue.status?.admitted ?? 0, null, 'status.admitted'),
      metric('queue-jobs', 'Jobs', total, null, 'Gangs whose spec.queue is this queue (/api/v1/summary)')),
    quotaPanel(queue),
    conditionsPanel(queue),
    jobsPanel(mine, total, classMap, now));
}

function quotaPanel(queue) {
  const usage = queue.status?.usage || [];
  const rows = (queue.spec.quotas || []).map((q) => {
    const used = usage.find((u) => u.resource === q.resource && (u.acceleratorClass || null) === (q.acceleratorClass || null));
    return h('tr', {},
      h('th', { scope: 'row' }, q.resource), h('td', {}, q.acceleratorClass || 'any'),
      h('td', { className: 'num' }, q.nominal), h('td', { className: 'num' }, used?.used ?? '0'),
      h('td', { className: 'num' }, used?.borrowed ?? '0'),
      h('td', { className: 'num' }, q.borrowingLimit ?? 'unlimited'),
      h('td', { className: 'num' }, q.lendingLimit ?? 'all unused'));
  });
  const extra = usage.filter((u) => !(queue.spec.quotas || []).some((q) => q.resource === u.resource
    && (q.acceleratorClass || null) === (u.acceleratorClass || null)));
  for (const u of extra) {
    rows.push(h('tr', {}, h('th', { scope: 'row' }, u.resource), h('td', {}, u.acceleratorClass || 'any'),
      h('td', { className: 'num' }, 'none'), h('td', { className: 'num' }, u.used),
      h('td', { className: 'num' }, u.borrowed ?? '0'), h('td', {}, '—'), h('td', {}, '—')));
  }
  return panel('Quota and usage', table(
    ['Resource', 'Class', 'Nominal', 'Used', 'Borrowed', 'Borrowing limit', 'Lending limit'],
    rows.length ? rows : [emptyRow(7, 'No quotas.')]));
}

export function conditionsPanel(obj) {
  const rows = (obj.status?.conditions || []).map((c) => h('tr', {},
    h('th', { scope: 'row' }, c.type), h('td', {}, c.status), h('td', {}, c.reason || '—'),
    h('td', { className: 'message' }, c.message || ''), h('td', {}, formatTime(c.lastTransitionTime))));
  return panel('Conditions', table(['Type', 'Status', 'Reason', 'Message', 'Since'],
    rows.length ? rows : [emptyRow(5, 'No conditions yet.')]));
}

function jobsPanel(gangs, total, classes, now) {
  const rows = gangs.map((g) => {
    const cond = model.condition(g, 'Admitted');
    const waiting = model.waits(g);
    return h('tr', {},
      h('th', { scope: 'row' }, jobLink(g)),
      h('td', {}, phaseBadge(model.phase(g))),
      h('td', { className: 'num' }, formatNumber(model.gangGpus(g, classes))),
      h('td', { className: 'num' }, String(g.spec.priority ?? 0)),
      h('td', { className: 'num' }, waiting ? formatDuration(model.waitSeconds(g, now)) : '—'),
      h('td', {}, cond?.reason || '—'),
      h('td', { className: 'message' }, cond?.message || ''));
  });
  return panel(`Jobs (${total})`,
    total > gangs.length ? h('p', { className: 'note' }, `Showing the first ${gangs.length} in namespace and name order, waiting ones first.`) : null,
    table(
    ['Job', 'Phase', 'GPUs', 'Priority', 'Waiting', 'Reason', 'Message'],
    rows.length ? rows : [emptyRow(7, 'No job uses this queue.')]));
}
