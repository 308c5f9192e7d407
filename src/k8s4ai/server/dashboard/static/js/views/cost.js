// Cost: /api/v1/allocation over a window, aggregated by a label chosen here, with the idle
// line, as a table and a bar chart. The choice lives in the address (`#/cost?by=team&window=7d`)
// so a view can be linked. Reads /api/v1/cost (rate; 404 if no cost source) and /api/v1/allocation.

import * as api from '../api.js';
import { barChart } from '../chart.js';
import { findingsPanel } from './overview.js';
import {
  emptyRow, formatMoney, h, metric, notAvailable, panel, section, table,
} from '../dom.js';

export const watches = ['gangschedulinggroups'];
export const redrawMs = 5000; // each drawing prices the ledger again

const AGGREGATES = ['team', 'namespace', 'project', 'experiment', 'model', 'queue', 'job'];
const WINDOWS = [['today', 'Today'], ['24h', 'Last 24 hours'], ['week', 'This week'], ['7d', 'Last 7 days'], ['month', 'This month'], ['30d', 'Last 30 days']];
const IDLE = '__idle__';
const MAX_BARS = 15;
const MAX_ROWS = 500;
const SPECIAL = { __idle__: 'idle (nobody holds it)', __unallocated__: '(no label)', __unmounted__: 'unmounted volumes' };
const FIELDS = [['gpuCost', 'GPU'], ['cpuCost', 'CPU'], ['ramCost', 'Memory'], ['pvCost', 'Storage']];

export async function render(ctx) {
  const by = AGGREGATES.includes(ctx.query.get('by')) ? ctx.query.get('by') : 'team';
  const requested = ctx.query.get('window');
  const period = WINDOWS.some(([w]) => w === requested) ? requested : '7d';
  const costs = await ctx.costs();
  if (!costs.configured) {
    return section('cost', 'Cost', notAvailable('Cost allocation', 'this server was started '
      + 'without a cost source (ledger and prices), so /api/v1/allocation has nothing to report; '
      + '`k8s4ai up` runs one.'));
  }
  const [body, findings] = await Promise.all([api.allocationCached({
    window: period, aggregate: by, includeIdle: 'true', accumulate: 'true',
  }, 5000), ctx.findings()]);
  const lines = Object.values(body.data[0] || {}).sort((a, b) => b.totalCost - a.totalCost);
  const total = lines.reduce((t, l) => t + l.totalCost, 0);
  const idle = lines.find((l) => l.name === IDLE)?.totalCost ?? 0;

  return section('cost', 'Cost',
    controls(by, period),
    h('div', { className: 'metrics' },
      metric('cost-total', 'Total', total, formatMoney(total), 'Sum of totalCost over every line, idle included'),
      metric('cost-idle', 'Idle', idle, formatMoney(idle), 'The __idle__ line: what existed and nobody held'),
      metric('cost-rate', 'Cost rate', costs.rate, `${formatMoney(costs.rate)}/h`,
        'Cost per hour of everything that exists, held or idle (/api/v1/cost hourly.total)')),
    lines.length ? panel(`By ${by}`, barChart(`Cost by ${by}, ${label(period)}`, bars(lines))) : null,
    panel('Lines', table(['Name', ...FIELDS.map(([, name]) => name), 'Total', 'Share'],
      lines.length ? lines.slice(0, MAX_ROWS).map((l) => row(l, total))
        : [emptyRow(FIELDS.length + 3, 'No cost in this period.')],
      lines.length > MAX_ROWS ? `The ${MAX_ROWS} most expensive of ${lines.length} lines` : null)),
    findingsPanel(findings));
}

function row(line, total) {
  return h('tr', { 'data-line': line.name, className: line.name === IDLE ? 'idle' : null },
    h('th', { scope: 'row' }, SPECIAL[line.name] || line.name),
    FIELDS.map(([field]) => h('td', { className: 'num' }, formatMoney(line[field] || 0))),
    h('td', { className: 'num', 'data-value': String(line.totalCost) }, formatMoney(line.totalCost)),
    h('td', { className: 'num' }, total > 0 ? `${((100 * line.totalCost) / total).toFixed(1)}%` : '—'));
}

function controls(by, period) {
  const go = (next) => {
    location.hash = `#/cost?${new URLSearchParams(next)}`;
  };
  return h('form', { className: 'filters', onsubmit: (event) => event.preventDefault() },
    h('label', { for: 'cost-by' }, 'Aggregate by '),
    h('select', { id: 'cost-by', onchange: (e) => go({ by: e.target.value, window: period }) },
      AGGREGATES.map((a) => h('option', { value: a, selected: a === by }, a))),
    h('label', { for: 'cost-period' }, ' Window '),
    h('select', { id: 'cost-period', onchange: (e) => go({ by, window: e.target.value }) },
      WINDOWS.map(([w, text]) => h('option', { value: w, selected: w === period }, text))));
}

function label(period) {
  return (WINDOWS.find(([w]) => w === period) || [period, period])[1].toLowerCase();
}

// The most expensive lines, the rest summed as one, and idle last: a chart stays readable
// with thousands of jobs.
function bars(lines) {
  const owned = lines.filter((l) => l.name !== IDLE);
  const shown = owned.slice(0, MAX_BARS).map((l) => ({
    label: SPECIAL[l.name] || l.name, value: l.totalCost, text: formatMoney(l.totalCost),
  }));
  const rest = owned.slice(MAX_BARS);
  if (rest.length) {
    const value = rest.reduce((t, l) => t + l.totalCost, 0);
    shown.push({ label: `${rest.length} others`, value, text: formatMoney(value) });
  }
  const idle = lines.find((l) => l.name === IDLE);
  if (idle) shown.push({ label: SPECIAL[IDLE], value: idle.totalCost, text: formatMoney(idle.totalCost), idle: true });
  return shown;
}
