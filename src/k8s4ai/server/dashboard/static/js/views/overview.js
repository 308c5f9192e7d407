// Overview: GPUs by accelerator class, jobs, queue backlog, cost and routers at a glance.
// Reads /api/v1/summary (counted on the server, definitions in server/summary.py),
// /api/v1/cost for the cost rate and month to date, and the content routers.

import { usageBar } from '../chart.js';
import {
  emptyRow, formatDuration, formatMoney, formatNumber, h, metric, notAvailable, panel,
  queueLink, section, table,
} from '../dom.js';

export const watches = ['gangschedulinggroups', 'nodes', 'queues'];

const DEFINITIONS = {
  total: 'Sum over Nodes of spec.gpus[].count (/api/v1/summary gpus.total)',
  allocated: 'Sum over gangs in phase Admitted or Running, over status.assignments, of pods '
    + 'placed × GPUs per pod (a MIG instance counts as its compute slices / 7); inference '
    + 'replicas are not counted: the API does not say where they run (/api/v1/summary gpus.allocated)',
  pending: 'Gangs in phase Pending or Preempted (/api/v1/summary jobs.waiting)',
  running: 'Gangs in phase Admitted or Running (/api/v1/summary jobs.holding)',
  queues: 'Queue objects',
  wait: 'Longest time a pending gang has waited (since its Admitted condition turned False)',
  rate: 'Cost per hour of everything that exists, held or idle (/api/v1/cost hourly.total)',
  month: 'Total cost this calendar month (UTC), idle included (/api/v1/cost monthToDate.total)',
};

// Seconds from an instant the server gave to the moment it answered.
export function age(since, now) {
  return since ? Math.max(0, (now - new Date(since).getTime()) / 1000) : null;
}

export async function render(ctx) {
  const [summary, routers, costs, findings] = await Promise.all([
    ctx.summary(), ctx.list('contentrouters'), ctx.costs(), ctx.findings(),
  ]);
  const now = new Date(summary.time).getTime();
  const { gpus, jobs } = summary;
  const longest = summary.oldestWaiting ? age(summary.oldestWaiting.since, now) : 0;

  return section('overview', 'Overview',
    h('div', { className: 'metrics' },
      metric('gpus-total', 'GPUs', gpus.total, null, DEFINITIONS.total),
      metric('gpus-allocated', 'GPUs allocated', gpus.allocated,
        `${formatNumber(gpus.allocated)} (${gpus.total ? formatNumber((100 * gpus.allocated) / gpus.total, 0) : 0}%)`,
        DEFINITIONS.allocated),
      metric('jobs-running', 'Jobs running', jobs.holding, null, DEFINITIONS.running),
      metric('jobs-pending', 'Jobs pending', jobs.waiting, null, DEFINITIONS.pending),
      metric('queues', 'Queues', summary.queues.total, null, DEFINITIONS.queues),
      metric('longest-wait', 'Longest wait', longest, formatDuration(longest), DEFINITIONS.wait)),
    classPanel(gpus.byClass),
    costPanel(costs),
    busyPanel(costs),
    backlogPanel(summary.queues.backlog, now),
    routerPanel(routers),
    findingsPanel(findings, 5));
}

function classPanel(byClass) {
  const rows = byClass.map((c) => h('tr', { 'data-class': c.name },
    h('th', { scope: 'row' }, c.name),
    h('td', {}, c.model ? `${c.model} (${c.vram})` : '—'),
    h('td', { className: 'num', 'data-metric': `class-gpus:${c.name}`, 'data-value': String(c.total) }, formatNumber(c.total)),
    h('td', { className: 'num', 'data-metric': `class-allocated:${c.name}`, 'data-value': String(c.allocated) }, formatNumber(c.allocated)),
    h('td', { className: 'num' }, formatNumber(c.total - c.allocated)),
    h('td', {}, usageBar(c.allocated, c.total, `${formatNumber(c.allocated)} of ${formatNumber(c.total)} allocated`))));
  return panel('GPUs by accelerator class', table(
    ['Class', 'Model', 'GPUs', 'Allocated', 'Free', 'Allocated share'],
    rows.length ? rows : [emptyRow(6, 'No GPUs in the inventory.')]));
}

function costPanel(costs) {
  if (!costs.configured) {
    return notAvailable('Cost', 'this server was started without a cost source (ledger and '
      + 'prices); `k8s4ai up` has one.');
  }
  if (!costs.up) {
    return panel('Cost', h('p', { role: 'alert' }, `The cost source failed: ${costs.problem}`));
  }
  return panel('Cost',
    h('div', { className: 'metrics' },
      metric('cost-rate', 'Cost rate', costs.rate, `${formatMoney(costs.rate)}/h`, DEFINITIONS.rate),
      metric('cost-idle-rate', 'of which idle', costs.idle, `${formatMoney(costs.idle)}/h`,
        'What exists and nobody holds, per hour (/api/v1/cost hourly.idle)'),
      metric('cost-month', 'Month to date', costs.month, formatMoney(costs.month), DEFINITIONS.month)),
    h('p', {}, h('a', { href: '#/cost' }, 'Cost by team, namespace, experiment or model')));
}

function backlogPanel(queues, now) {
  const sorted = [...queues].sort((a, b) => b.waiting - a.waiting || a.name.localeCompare(b.name));
  const rows = sorted.map((q) => h('tr', { 'data-backlog': q.name },
    h('th', { scope: 'row' }, queueLink(q.name)),
    h('td', { className: 'num', 'data-metric': `backlog:${q.name}`, 'data-value': String(q.waiting) }, String(q.waiting)),
    h('td', { className: 'num' }, q.waiting ? formatDuration(age(q.oldestWaitingSince, now)) : '—')));
  return panel('Queue backlog', table(['Queue', 'Pending jobs', 'Longest wait'],
    rows.length ? rows : [emptyRow(3, 'No queues.')]));
}

// How busy the GPUs held now are, from the cost source's utilisation samples.
export function busyPanel(costs) {
  if (!costs.configured || !costs.up || !costs.gpus) {
    return notAvailable('GPUs busy', 'this server has no cost source, whose utilisation samples '
      + 'say how busy held GPUs are.');
  }
  const { gpus } = costs;
  const share = gpus.sampled ? (100 * gpus.busy) / gpus.sampled : 0;
  const rows = gpus.byClass.map((c) => h('tr', { 'data-class': c.name },
    h('th', { scope: 'row' }, c.name),
    h('td', { className: 'num' }, formatNumber(c.held)),
    h('td', { className: 'num' }, formatNumber(c.sampled)),
    h('td', { className: 'num', 'data-metric': `class-busy:${c.name}`, 'data-value': String(c.busy) }, formatNumber(c.busy, 1)),
    h('td', {}, usageBar(c.busy, c.sampled, `${formatNumber(c.busy, 1)} of ${formatNumber(c.sampled)} sampled GPUs busy`))));
  return panel('GPUs busy',
    h('div', { className: 'metrics' },
      metric('gpus-busy', 'GPUs busy', gpus.busy, `${formatNumber(gpus.busy, 1)} (${formatNumber(share, 0)}% of sampled)`,
        'Sum over GPU allocations held now of GPUs × engine activity of their latest sample '
        + `in the last ${gpus.sampleSeconds / 60} minutes (/api/v1/cost gpus.busy)`)),
    table(['Class', 'GPUs held', 'With a recent sample', 'Busy', 'Busy share'],
      rows.length ? rows : [emptyRow(5, 'No GPU is held.')]),
    h('p', { className: 'note' }, 'GPUs held are the cost ledger\'s GPU allocations (inference '
      + 'replicas included). Busy comes from its utilisation samples: DCGM on a real cluster; '
      + 'k8s4ai up simulates them, as its cluster has no GPUs to measure.'));
}

// Findings (money spent on nothing) with what they save; the first `limit`, or all.
export function findingsPanel(found, limit) {
  if (!found) {
    return notAvailable('Open findings', 'this server has no cost source to look for waste in.');
  }
  const shown = limit ? found.findings.slice(0, limit) : found.findings;
  const rows = shown.map((f) => h('tr', { 'data-finding': `${f.kind}:${f.subject}` },
    h('th', { scope: 'row' }, f.subject),
    h('td', {}, f.kind),
    h('td', {}, f.action),
    h('td', { className: 'num' }, `${formatMoney(f.monthlySavings)}/month`),
    h('td', { className: 'message' }, f.reason)));
  return panel('Open findings',
    h('div', { className: 'metrics' },
      metric('findings-open', 'Open findings', found.total, null,
        'Findings over the last week (/api/v1/findings total)'),
      metric('findings-savings', 'Savings', found.monthlySavings, `${formatMoney(found.monthlySavings)}/month`,
        'What acting on every finding would save per month (/api/v1/findings monthlySavings)')),
    table(['Subject', 'Kind', 'Action', 'Saves', 'Why'],
      rows.length ? rows : [emptyRow(5, 'Nothing found.')],
      found.total > shown.length ? `The ${shown.length} largest of ${found.total}` : null),
    h('p', { className: 'note' }, `Not checked: ${found.notChecked.map((n) => `${n.kind} (${n.why})`).join('; ')}.`),
    limit ? h('p', {}, h('a', { href: '#/cost' }, 'All findings, with cost')) : null);
}

function routerPanel(routers) {
  const rows = routers.map((r) => h('tr', {},
    h('th', { scope: 'row' }, `${r.metadata.namespace}/${r.metadata.name}`),
    h('td', {}, r.spec.service || '—'),
    h('td', {}, r.spec.policy),
    h('td', { className: 'num' }, String(r.status?.readyReplicas ?? 0)),
    h('td', {}, r.status?.url ? h('code', {}, r.status.url) : 'not serving')));
  return panel('ContentRouters', table(['Router', 'Service', 'Policy', 'Ready replicas', 'URL'],
    rows.length ? rows : [emptyRow(5, 'No ContentRouters.')]),
  h('p', {}, h('a', { href: '#/inference' }, 'Inference services and routers')));
}
