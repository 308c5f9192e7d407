// Overview: GPUs by accelerator class, jobs, queue backlog, cost and routers at a glance.
// Reads nodes, gangs, queues, accelerator classes and content routers (one list each),
// /metrics for the cost rate and /api/v1/allocation for the month to date.

import * as api from '../api.js';
import { usageBar } from '../chart.js';
import {
  emptyRow, formatDuration, formatMoney, formatNumber, h, metric, notAvailable, panel,
  queueLink, section, table,
} from '../dom.js';
import * as model from '../model.js';

export const watches = ['gangschedulinggroups', 'nodes', 'queues'];

const DEFINITIONS = {
  total: 'Sum over Nodes of spec.gpus[].count',
  allocated: 'Sum over gangs in phase Admitted or Running, over status.assignments, of pods '
    + 'placed × GPUs per pod (a MIG instance counts as its compute slices / 7); inference '
    + 'replicas are not counted: the API does not say where they run',
  pending: 'Gangs in phase Pending or Preempted',
  running: 'Gangs in phase Admitted or Running',
  queues: 'Queue objects',
  wait: 'Longest time a pending gang has waited (since its Admitted condition turned False)',
  rate: 'Cost per hour of everything that exists: sum of k8s4ai_allocation_hourly_cost_dollars '
    + 'and k8s4ai_idle_hourly_cost_dollars on /metrics',
  month: 'Total cost this calendar month (UTC) from /api/v1/allocation?window=month, idle included',
};

export async function render(ctx) {
  const [nodes, gangs, queues, classes, routers, costs] = await Promise.all([
    ctx.list('nodes'), ctx.list('gangschedulinggroups'), ctx.list('queues'),
    ctx.list('acceleratorclasses'), ctx.list('contentrouters'), ctx.costs(),
  ]);
  const classMap = model.byName(classes);
  const capacity = model.capacityByClass(nodes);
  const held = model.heldByClass(gangs, classMap);
  const total = [...capacity.values()].reduce((a, b) => a + b, 0);
  const allocated = [...held.values()].reduce((a, b) => a + b, 0);
  const waiting = gangs.filter(model.waits);
  const running = gangs.filter(model.holds);
  const waits = waiting.map((g) => model.waitSeconds(g, ctx.now)).filter((s) => s !== null);
  const longest = waits.length ? Math.max(...waits) : 0;

  return section('overview', 'Overview',
    h('div', { className: 'metrics' },
      metric('gpus-total', 'GPUs', total, null, DEFINITIONS.total),
      metric('gpus-allocated', 'GPUs allocated', allocated,
        `${formatNumber(allocated)} (${total ? formatNumber((100 * allocated) / total, 0) : 0}%)`,
        DEFINITIONS.allocated),
      metric('jobs-running', 'Jobs running', running.length, null, DEFINITIONS.running),
      metric('jobs-pending', 'Jobs pending', waiting.length, null, DEFINITIONS.pending),
      metric('queues', 'Queues', queues.length, null, DEFINITIONS.queues),
      metric('longest-wait', 'Longest wait', longest, formatDuration(longest), DEFINITIONS.wait)),
    classPanel(capacity, held, classMap),
    await costPanel(costs),
    notAvailable('GPUs busy', 'the API reports what is allocated, not how busy each GPU is '
      + '(no utilisation samples are served yet).'),
    backlogPanel(queues, waiting, ctx.now),
    routerPanel(routers),
    notAvailable('Open findings', 'FinOps findings are computed by `k8s4ai cost`; the HTTP API '
      + 'does not serve them yet.'));
}

function classPanel(capacity, held, classes) {
  const names = [...new Set([...capacity.keys(), ...held.keys()])].sort();
  const rows = names.map((name) => {
    const total = capacity.get(name) || 0;
    const used = held.get(name) || 0;
    const cls = classes.get(name);
    return h('tr', { 'data-class': name },
      h('th', { scope: 'row' }, name),
      h('td', {}, cls ? `${cls.spec.model} (${cls.spec.vram})` : '—'),
      h('td', { className: 'num', 'data-metric': `class-gpus:${name}`, 'data-value': String(total) }, formatNumber(total)),
      h('td', { className: 'num', 'data-metric': `class-allocated:${name}`, 'data-value': String(used) }, formatNumber(used)),
      h('td', { className: 'num' }, formatNumber(total - used)),
      h('td', {}, usageBar(used, total, `${formatNumber(used)} of ${formatNumber(total)} allocated`)));
  });
  return panel('GPUs by accelerator class', table(
    ['Class', 'Model', 'GPUs', 'Allocated', 'Free', 'Allocated share'],
    rows.length ? rows : [emptyRow(6, 'No GPUs in the inventory.')]));
}

async function costPanel(costs) {
  if (!costs.configured) {
    return notAvailable('Cost', 'this server was started without a cost source (ledger and '
      + 'prices); `k8s4ai up` has one.');
  }
  if (!costs.up) {
    return panel('Cost', h('p', { role: 'alert' }, 'The cost source did not answer at the last scrape.'));
  }
  let month = null;
  let problem = null;
  try {
    const body = await api.allocationCached({
      window: 'month', aggregate: 'namespace', includeIdle: 'true', accumulate: 'true',
    }, 30000);
    month = Object.values(body.data[0] || {}).reduce((sum, line) => sum + line.totalCost, 0);
  } catch (err) {
    if (err instanceof api.Unauthorized) throw err;
    problem = err.message;
  }
  return panel('Cost',
    h('div', { className: 'metrics' },
      metric('cost-rate', 'Cost rate', costs.rate, `${formatMoney(costs.rate)}/h`, DEFINITIONS.rate),
      metric('cost-idle-rate', 'of which idle', costs.idle, `${formatMoney(costs.idle)}/h`,
        'k8s4ai_idle_hourly_cost_dollars on /metrics'),
      month === null ? null
        : metric('cost-month', 'Month to date', month, formatMoney(month), DEFINITIONS.month)),
    problem ? h('p', { role: 'alert' }, `Month to date unavailable: ${problem}`) : null,
    h('p', {}, h('a', { href: '#/cost' }, 'Cost by team, namespace, experiment or model')));
}

function backlogPanel(queues, waiting, now) {
  const byQueue = new Map();
  for (const gang of waiting) {
    const entry = byQueue.get(gang.spec.queue) || { count: 0, longest: 0 };
    entry.count += 1;
    entry.longest = Math.max(entry.longest, model.waitSeconds(gang, now) || 0);
    byQueue.set(gang.spec.queue, entry);
  }
  const names = [...new Set([...queues.map((q) => q.metadata.name), ...byQueue.keys()])];
  names.sort((a, b) => (byQueue.get(b)?.count || 0) - (byQueue.get(a)?.count || 0) || a.localeCompare(b));
  const rows = names.map((name) => {
    const entry = byQueue.get(name) || { count: 0, longest: 0 };
    return h('tr', {}, h('th', { scope: 'row' }, queueLink(name)),
      h('td', { className: 'num' }, String(entry.count)),
      h('td', { className: 'num' }, entry.count ? formatDuration(entry.longest) : '—'));
  });
  return panel('Queue backlog', table(['Queue', 'Pending jobs', 'Longest wait'],
    rows.length ? rows : [emptyRow(3, 'No queues.')]));
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
