// One job (gang): its pod sets and where they run, down to GPU slots; phase, conditions,
// restarts, checkpoints, cost so far and a timeline of its Events. Reads the gang, its Events
// (by field selector), /api/v1/occupancy of the nodes it holds (to fill the same GPU slots as
// the cluster view), accelerator classes, and /api/v1/allocation by namespace and job when
// /api/v1/cost says a cost source exists.

import * as api from '../api.js';
import {
  emptyRow, formatMoney, formatNumber, formatTime, h, metric, nodeLink, notAvailable, panel,
  phaseBadge, queueLink, section, table,
} from '../dom.js';
import * as model from '../model.js';
import { slotsOf } from './cluster.js';
import { conditionsPanel } from './queue.js';

export const watches = ['gangschedulinggroups', 'events'];

export async function render(ctx) {
  const { namespace, name } = ctx.params;
  const title = `Job ${namespace}/${name}`;
  let gang;
  try {
    gang = await ctx.get('gangschedulinggroups', name, namespace);
  } catch (err) {
    if (err instanceof api.ApiError && err.code === 404) {
      return section('job', title, h('p', { role: 'alert' }, `No job ${name} in namespace ${namespace}.`),
        h('p', {}, h('a', { href: '#/jobs' }, 'All jobs')));
    }
    throw err;
  }
  // Which nodes it holds does not depend on the classes (only how much of each GPU does), so
  // every call starts at once.
  const held = [...new Set(model.placements(gang, new Map()).map((p) => p.node))];
  const [classes, events, occupancy, cost] = await Promise.all([
    ctx.list('acceleratorclasses'),
    ctx.page('events', {
      namespace, fieldSelector: `spec.involvedObject.kind=GangSchedulingGroup,spec.involvedObject.name=${name}`,
    }),
    held.length ? ctx.occupancy(held) : { nodes: [] },
    ctx.costs().then((costs) => (costs.configured && costs.up ? costMetric(gang, ctx.now) : null)),
  ]);
  const classMap = model.byName(classes);
  const status = gang.status || {};
  const mine = events.items;

  return section('job', title,
    h('p', {}, phaseBadge(model.phase(gang)), ' in queue ', queueLink(gang.spec.queue),
      ` · priority ${gang.spec.priority ?? 0}`),
    h('div', { className: 'metrics' },
      metric('job-gpus', 'GPUs', model.gangGpus(gang, classMap), null,
        'Sum over pod sets of count × GPUs per pod (a MIG instance as compute slices / 7)'),
      metric('job-restarts', 'Restarts', status.restarts ?? 0, null, 'status.restarts'),
      cost),
    summaryPanel(gang),
    podSetsPanel(gang, classMap),
    placementPanel(gang, occupancy.nodes, classMap),
    conditionsPanel(gang),
    eventsPanel(mine),
    notAvailable('Progress', 'training steps and throughput are not reported to the API yet.'));
}

// Its cost so far, or nothing if the report fails.
async function costMetric(gang, now) {
  const created = gang.metadata.creationTimestamp ? new Date(gang.metadata.creationTimestamp).getTime() : now;
  // Its whole life, in whole days, so that jobs of a similar age share one report.
  const days = Math.ceil((now - created) / 86400000) + 1;
  try {
    const body = await api.allocationCached({
      window: `${days}d`, aggregate: 'namespace,job', accumulate: 'true',
    }, 30000);
    const line = (body.data[0] || {})[`${gang.metadata.namespace}/${gang.metadata.name}`];
    const total = line ? line.totalCost : 0;
    return metric('job-cost', 'Cost so far', total, formatMoney(total),
      '/api/v1/allocation aggregated by namespace and job, over the job\'s life');
  } catch (err) {
    if (err instanceof api.ApiError) return null;
    throw err;
  }
}

function summaryPanel(gang) {
  const status = gang.status || {};
  const topo = gang.spec.topology;
  const rows = [
    ['Namespace', gang.metadata.namespace],
    ['Labels', Object.entries(gang.metadata.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'],
    ['Topology', topo ? `${topo.required ? `required ${topo.required}` : `preferred ${topo.preferred}`} (${topo.topologyName})` : 'none'],
    ['Min members', String(gang.spec.minMember ?? 'all pods')],
    ['Estimated duration', gang.spec.estimatedDuration || '—'],
    ['Created', formatTime(gang.metadata.creationTimestamp)],
    ['Started', formatTime(status.startTime)],
    ['Completed', formatTime(status.completionTime)],
    ['Checkpoint policy', gang.spec.checkpointPolicy || 'none'],
    ['Last checkpoint', formatTime(status.lastCheckpointTime)],
    ['Suspended', gang.spec.suspend ? 'yes' : 'no'],
  ];
  return panel('Summary', h('dl', { className: 'summary-list' },
    rows.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])));
}

function podSetsPanel(gang, classes) {
  const rows = gang.spec.podSets.map((ps) => {
    const r = ps.resources || {};
    return h('tr', {},
      h('th', { scope: 'row' }, ps.name), h('td', { className: 'num' }, String(ps.count ?? 1)),
      h('td', { className: 'num' }, r.migProfile ? `MIG ${r.migProfile}` : formatNumber(model.podShare(r, classes))),
      h('td', {}, r.acceleratorClass || 'any'), h('td', {}, r.vram || '—'),
      h('td', {}, r.cpu || '—'), h('td', {}, r.memory || '—'), h('td', {}, ps.image || '—'));
  });
  return panel('Pod sets', table(['Pod set', 'Pods', 'GPUs per pod', 'Class', 'VRAM', 'CPU', 'Memory', 'Image'], rows));
}

function placementPanel(gang, nodes, classes) {
  const placed = model.placements(gang, classes);
  if (!placed.length) {
    return panel('Placement', h('p', {}, model.holds(gang) ? 'Admitted, with no assignment recorded.'
      : 'Not placed: the job holds no node.'));
  }
  const nodeMap = new Map(nodes.map((n) => [n.name, n]));
  const job = model.key(gang);
  const items = [...new Set(placed.map((p) => p.node))].map((nodeName) => {
    const here = placed.filter((p) => p.node === nodeName);
    const node = nodeMap.get(nodeName);
    const slots = node ? slotsOf(node).filter((s) => s.holders.some((x) => x.job === job)) : [];
    const pods = here.reduce((t, p) => t + p.pods, 0);
    const gpus = here.reduce((t, p) => t + p.gpus, 0);
    return h('li', {}, nodeLink(nodeName),
      ` — ${here.map((p) => `${p.podSet} ×${p.pods}`).join(', ')} (${pods} pod${pods === 1 ? '' : 's'}, ${formatNumber(gpus)} GPU)`,
      slots.length ? h('span', { className: 'slots' }, ' · slots ',
        slots.map((s) => h('span', { className: 'slot', 'data-gpu': `${nodeName}/${s.index}` }, String(s.index)))) : null,
      node ? null : h('span', { className: 'badge warn' }, ' node not in the inventory'));
  });
  return panel('Placement', h('ul', { className: 'placement' }, items),
    h('p', { className: 'note' }, 'Slot numbers are positions in the dashboard\'s fill of the node, not device indices.'));
}

function eventsPanel(events) {
  events.sort((a, b) => String(b.spec.lastTimestamp || '').localeCompare(String(a.spec.lastTimestamp || '')));
  const rows = events.map((e) => h('tr', { className: e.spec.type === 'Warning' ? 'warning' : null },
    h('td', {}, formatTime(e.spec.lastTimestamp)),
    h('td', {}, e.spec.type === 'Warning' ? '⚠ Warning' : 'Normal'),
    h('th', { scope: 'row' }, e.spec.reason),
    h('td', { className: 'num' }, String(e.spec.count ?? 1)),
    h('td', { className: 'message' }, e.spec.message || ''),
    h('td', {}, formatTime(e.spec.firstTimestamp))));
  return panel('Events', table(['Last seen', 'Type', 'Reason', 'Count', 'Message', 'First seen'],
    rows.length ? rows : [emptyRow(6, 'No events for this job.')]));
}
