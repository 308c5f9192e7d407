// Queues: each queue's GPU quota, usage and borrowing, grouped by cohort, and pending jobs
// with the reason admission gave (its Admitted condition, what `k8s4ai explain` starts
// from). Reads queues, /api/v1/summary (waiting per queue) and one page of waiting gangs.

import {
  emptyRow, formatDuration, formatNumber, h, jobLink, panel, phaseBadge, queueLink, section,
  table,
} from '../dom.js';
import * as model from '../model.js';

export const watches = ['queues', 'gangschedulinggroups'];
const MAX_PENDING_ROWS = 300;
export const WAITING_SELECTOR = 'status.phase in (Pending,Preempted)';

// A quantity as a number: GPUs are plain numbers; `500m` style milli-units are scaled.
export function amount(text) {
  if (text === undefined || text === null) return null;
  const value = String(text);
  return value.endsWith('m') ? Number(value.slice(0, -1)) / 1000 : Number(value);
}

// GPU quota and usage of a queue, summed over accelerator classes.
export function gpuFigures(queue) {
  const quotas = (queue.spec.quotas || []).filter((q) => q.resource === 'gpu');
  const usage = (queue.status?.usage || []).filter((u) => u.resource === 'gpu');
  const sum = (items, field) => items.reduce((t, i) => t + (amount(i[field]) || 0), 0);
  const limited = (field) => (quotas.some((q) => q[field] === undefined) ? null : sum(quotas, field));
  return {
    nominal: sum(quotas, 'nominal'),
    used: sum(usage, 'used'),
    borrowed: sum(usage, 'borrowed'),
    borrowingLimit: quotas.length ? limited('borrowingLimit') : null,
    lendingLimit: quotas.length ? limited('lendingLimit') : null,
  };
}

export async function render(ctx) {
  const [queues, summary, pending] = await Promise.all([
    ctx.list('queues'), ctx.summary(),
    ctx.page('gangschedulinggroups', { fieldSelector: WAITING_SELECTOR, limit: MAX_PENDING_ROWS }),
  ]);
  const now = new Date(summary.time).getTime();
  const cohorts = new Map();
  for (const q of queues) {
    const cohort = q.spec.cohort || '';
    if (!cohorts.has(cohort)) cohorts.set(cohort, []);
    cohorts.get(cohort).push(q);
  }
  const waiting = pending.items
    .map((g) => ({ gang: g, wait: model.waitSeconds(g, now) }))
    .sort((a, b) => (b.wait || 0) - (a.wait || 0));
  return section('queues', 'Queues',
    [...cohorts].sort(([a], [b]) => a.localeCompare(b)).map(([cohort, members]) => cohortPanel(cohort, members)),
    queues.length ? null : h('p', {}, 'No queues.'),
    pendingPanel(waiting, summary.jobs.waiting));
}

function cohortPanel(cohort, queues) {
  queues.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const figures = queues.map(gpuFigures);
  const borrowed = figures.reduce((t, f) => t + f.borrowed, 0);
  const rows = queues.map((q, i) => {
    const f = figures[i];
    return h('tr', { 'data-queue-row': q.metadata.name },
      h('th', { scope: 'row' }, queueLink(q.metadata.name)),
      h('td', { className: 'num' }, formatNumber(q.spec.weight)),
      h('td', { className: 'num' }, formatNumber(f.nominal)),
      h('td', { className: 'num' }, formatNumber(f.used)),
      h('td', { className: 'num' }, f.borrowed ? formatNumber(f.borrowed) : '0'),
      h('td', { className: 'num' }, f.borrowingLimit === null ? 'unlimited' : formatNumber(f.borrowingLimit)),
      h('td', { className: 'num' }, f.lendingLimit === null ? 'all unused' : formatNumber(f.lendingLimit)),
      h('td', { className: 'num', 'data-metric': `queue-pending:${q.metadata.name}`, 'data-value': String(q.status?.pending ?? 0) }, String(q.status?.pending ?? 0)),
      h('td', { className: 'num' }, String(q.status?.admitted ?? 0)),
      h('td', {}, q.spec.stopPolicy && q.spec.stopPolicy !== 'None' ? `held (${q.spec.stopPolicy})` : 'active'));
  });
  const title = cohort ? `Cohort ${cohort}` : 'Queues without a cohort';
  return panel(title,
    cohort ? h('p', { className: 'summary' }, `GPUs borrowed within the cohort: ${formatNumber(borrowed)} `
      + '(what its queues borrow is what the others lend; per-queue lending is not reported yet).') : null,
    table(['Queue', 'Weight', 'GPU quota', 'GPUs used', 'Borrowed', 'Borrowing limit',
      'Lending limit', 'Pending', 'Admitted', 'State'], rows));
}

function pendingPanel(waiting, total) {
  const rows = waiting.map(({ gang, wait }) => {
    const cond = model.condition(gang, 'Admitted');
    return h('tr', {},
      h('th', { scope: 'row' }, jobLink(gang)),
      h('td', {}, queueLink(gang.spec.queue)),
      h('td', {}, phaseBadge(model.phase(gang))),
      h('td', { className: 'num' }, formatDuration(wait)),
      h('td', {}, cond?.reason || '—'),
      h('td', { className: 'message' }, cond?.message || 'not looked at by admission yet'));
  });
  return panel(`Pending jobs (${total})`,
    total > waiting.length ? h('p', { className: 'note' }, `Showing ${waiting.length} of ${total}: `
      + 'the first in namespace and name order, longest-waiting first among them; a queue\'s page lists all of its jobs.') : null,
    table(['Job', 'Queue', 'Phase', 'Waiting', 'Reason', 'Why'],
      rows.length ? rows : [emptyRow(6, 'No job is waiting.')]));
}
