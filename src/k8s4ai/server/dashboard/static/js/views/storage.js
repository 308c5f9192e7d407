// Storage: checkpoint storage per CheckpointPolicy and per job, and the volumes the cost
// ledger prices, bound or orphaned, with what storage costs. Reads /api/v1/storage and
// /api/v1/cost (storage cost this month). The API has no volume objects, so a volume waiting
// to be bound cannot be shown.

import {
  emptyRow, formatMoney, formatNumber, formatTime, h, jobLink, metric, notAvailable, panel,
  phaseBadge, section, table,
} from '../dom.js';

export const watches = ['checkpointpolicies', 'gangschedulinggroups'];

const DEFINITIONS = {
  bound: 'Volumes of the cost ledger that an allocation held now mounts (/api/v1/storage)',
  orphaned: 'Volumes of the cost ledger that no allocation held now mounts: paid for, unused',
  checkpointed: 'Jobs with a CheckpointPolicy that have saved at least one checkpoint',
  rate: 'What the ledger\'s storage costs per hour now, mounted or not',
  month: 'Storage cost this calendar month (UTC) (/api/v1/cost monthToDate.byResource.storage)',
};

export async function render(ctx) {
  const [found, costs] = await Promise.all([ctx.storage(), ctx.costs()]);
  const { checkpoints, volumes } = found;
  return section('storage', 'Storage',
    h('div', { className: 'metrics' },
      volumes ? metric('volumes-bound', 'Volumes bound', volumes.bound, null, DEFINITIONS.bound) : null,
      volumes ? metric('volumes-orphaned', 'Volumes orphaned', volumes.orphaned, null, DEFINITIONS.orphaned) : null,
      metric('checkpointed-jobs', 'Jobs with checkpoints', checkpoints.checkpointedJobs, null, DEFINITIONS.checkpointed),
      volumes ? metric('storage-rate', 'Storage cost rate', volumes.hourlyCost, `${formatMoney(volumes.hourlyCost)}/h`, DEFINITIONS.rate) : null,
      costs.configured && costs.up ? metric('storage-month', 'Storage this month', costs.storageMonth,
        formatMoney(costs.storageMonth), DEFINITIONS.month) : null),
    volumes ? volumesPanel(volumes.volumes)
      : notAvailable('Volumes', 'this server has no cost source, and the API has no volume '
        + 'objects: what volumes exist is not known.'),
    notAvailable('Pending volumes', 'the API has no volume claims yet, so a volume waiting to be '
      + 'bound cannot be seen.'),
    policiesPanel(checkpoints.policies),
    jobsPanel(checkpoints));
}

function volumesPanel(volumes) {
  const rows = volumes.map((v) => h('tr', { 'data-volume': v.name, className: v.state === 'orphaned' ? 'warning' : null },
    h('th', { scope: 'row' }, v.name),
    h('td', {}, v.state === 'orphaned' ? '⚠ orphaned' : '✓ bound'),
    h('td', {}, v.storageClass || '—'),
    h('td', { className: 'num' }, formatNumber(v.sizeGB)),
    h('td', {}, v.mountedBy.join(', ') || '—'),
    h('td', { className: 'num' }, `${formatMoney(v.monthlyCost)}/month`),
    h('td', {}, formatTime(v.since))));
  return panel('Volumes', table(['Volume', 'State', 'Class', 'GB', 'Mounted by', 'Cost', 'Since'],
    rows.length ? rows : [emptyRow(7, 'The cost ledger prices no named volume.')]));
}

function policiesPanel(policies) {
  const rows = policies.map((p) => h('tr', { 'data-policy': `${p.namespace}/${p.name}` },
    h('th', { scope: 'row' }, `${p.namespace}/${p.name}`),
    h('td', {}, h('code', {}, p.uri)),
    h('td', {}, p.storageClass || 'default'),
    h('td', { className: 'num' }, p.sizeGB === null ? '—' : formatNumber(p.sizeGB)),
    h('td', { className: 'num' }, String(p.retention)),
    h('td', { className: 'num' }, String(p.jobs)),
    h('td', { className: 'num' }, String(p.checkpointed)),
    h('td', { className: 'num' }, p.upToGB === null ? '—' : `≤ ${formatNumber(p.upToGB)}`)));
  return panel('Checkpoint storage by policy', table(
    ['Policy', 'Where', 'Class', 'GB per checkpoint', 'Kept', 'Jobs', 'Checkpointed', 'GB stored'],
    rows.length ? rows : [emptyRow(8, 'No CheckpointPolicies.')],
    'GB stored: at most kept × GB per checkpoint × jobs that saved one'));
}

function jobsPanel(checkpoints) {
  const rows = checkpoints.jobs.map((j) => h('tr', {},
    h('th', { scope: 'row' }, jobLink(j.job)),
    h('td', {}, j.policy),
    h('td', {}, phaseBadge(j.phase)),
    h('td', {}, formatTime(j.lastCheckpoint)),
    h('td', { className: 'num' }, j.checkpointProgress === null ? '—' : `${formatNumber(100 * j.checkpointProgress, 0)}%`),
    h('td', { className: 'num' }, `${formatNumber(100 * j.progress, 0)}%`)));
  const shown = checkpoints.jobs.length;
  return panel(`Checkpoints by job (${checkpoints.checkpointedJobs})`,
    checkpoints.checkpointedJobs > shown ? h('p', { className: 'note' }, `The ${shown} most recent.`) : null,
    table(['Job', 'Policy', 'Phase', 'Last checkpoint', 'Saved at', 'Progress'],
      rows.length ? rows : [emptyRow(6, 'No job has saved a checkpoint yet.')]));
}
