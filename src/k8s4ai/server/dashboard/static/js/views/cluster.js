// Cluster: nodes grouped by their topology (the TopologyDomain levels above `node`), each a
// grid of GPU slots marked free, shared or allocated, with who holds them. Reads
// /api/v1/occupancy (per node: GPU groups, place, fence and holders, from the server).
// Up to OPEN_UP_TO nodes every domain is drawn open; beyond, each domain is one row with a
// strip of its nodes (a heat map of allocation) whose node cards are drawn when it is opened
// (the selected node's domain opens by itself): 1,000 nodes would be 27,000 elements.

import { formatNumber, h, jobLink, notAvailable, panel, section } from '../dom.js';
import * as model from '../model.js';

export const watches = ['nodes', 'gangschedulinggroups'];

const STATE_TEXT = { free: 'free', partial: 'shared', full: 'allocated' };
const STATE_MARK = { free: '○', partial: '◐', full: '●' };
const OPEN_UP_TO = 96;

export async function render(ctx) {
  const { nodes } = await ctx.occupancy();
  const selected = ctx.query.get('node');
  const groups = groupNodes(nodes);

  return section('cluster', 'Cluster',
    legend(),
    h('p', { className: 'note' }, 'The API says which nodes a job holds, not which GPU devices: '
      + 'slots are filled in job order, so a slot number is a position, not a device index.'),
    selected && !nodes.some((n) => n.name === selected)
      ? h('p', { role: 'alert' }, `No node named ${selected}.`) : null,
    groups.length ? groups.map(([label, members]) => domainPanel(label, members, selected,
      nodes.length <= OPEN_UP_TO || members.some((n) => n.name === selected)))
      : h('p', {}, 'No nodes in the inventory.'),
    notAvailable('Utilisation per GPU', h('span', {}, 'utilisation samples are kept per '
      + 'allocation, not per device, so the grid shows allocation; how busy held GPUs are, by '
      + 'class, is on the ', h('a', { href: '#/overview' }, 'overview'), '.')));
}

// After navigating to `#/cluster?node=NAME`: bring that node into view and focus it.
export function mounted(element, ctx) {
  const name = ctx.query.get('node');
  if (!name) return;
  const card = element.querySelector(`[data-node-card="${CSS.escape(name)}"]`);
  if (card) {
    card.scrollIntoView({ block: 'center' });
    card.focus({ preventScroll: true });
  }
}

function groupNodes(nodes) {
  const groups = new Map();
  for (const node of nodes) {
    const label = node.place.length ? node.place.map(([level, value]) => `${level} ${value}`).join(' › ') : 'no topology';
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label).push(node);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b));
}

// A node of /api/v1/occupancy as model.fillSlots takes it.
export function slotsOf(node) {
  const holders = node.holders.map((x) => ({ ...x, cls: x.acceleratorClass }));
  return model.fillSlots({ spec: { gpus: node.gpus } }, holders);
}

function stateOf(used, total) {
  if (used <= 1e-9) return 'free';
  return used >= total - 1e-9 ? 'full' : 'partial';
}

function domainPanel(label, members, selected, open) {
  const filled = members.map((node) => [node, slotsOf(node)]);
  const total = filled.reduce((sum, [, slots]) => sum + slots.length, 0);
  const used = filled.reduce((sum, [, slots]) => sum + slots.reduce((t, s) => t + s.used, 0), 0);
  const fenced = members.filter((n) => n.fenced).length;
  const line = `${members.length} nodes, ${formatNumber(used)} of ${total} GPUs allocated`
    + (fenced ? `, ${fenced} fenced` : '');
  const cards = h('div', { className: 'nodes' });
  const draw = () => {
    if (!cards.childElementCount) cards.append(...filled.map(([node, slots]) => nodeCard(node, slots, selected)));
  };
  if (open) {
    draw();
    return panel(label, h('p', { className: 'summary' }, line), cards);
  }
  const strip = h('span', { className: 'strip', 'aria-hidden': 'true' }, filled.map(([node, slots]) => {
    const mine = stateOf(slots.reduce((t, s) => t + s.used, 0), slots.length);
    return h('span', { className: `cell gpu-${mine}${node.fenced ? ' fenced' : ''}`, title: node.name }, STATE_MARK[mine]);
  }));
  const details = h('details', { className: 'domain', 'data-domain': label, ontoggle: draw },
    h('summary', {}, h('strong', {}, label), ` — ${line} `, strip), cards);
  return h('section', { className: 'panel domain-panel' }, details);
}

function nodeCard(node, slots, selected) {
  const { name, fenced } = node;
  const groups = node.gpus.map((g) => {
    const mig = g.migLayout?.length ? `, MIG ${g.migLayout.join(' + ')} per GPU` : '';
    return `${g.count} ${g.acceleratorClass}${mig}`;
  });
  return h('article', {
    className: `node${name === selected ? ' selected' : ''}${fenced ? ' fenced' : ''}`,
    'data-node-card': name, tabindex: '-1', 'aria-label': `node ${name}`,
    'aria-current': name === selected ? 'true' : null,
  },
  h('h3', {}, name, fenced ? h('span', { className: 'badge warn' }, `⚠ ${fenced}`) : null),
  h('p', { className: 'node-spec' }, `${groups.join('; ') || 'no GPUs'} · ${node.cpu} CPU · ${node.memory}`),
  slots.length ? h('ol', { className: 'gpus', 'aria-label': `GPU slots of ${name}` },
    slots.map((slot) => gpuCell(name, slot))) : null,
  node.holders.length ? h('ul', { className: 'holders' }, node.holders.map((holder) => h('li', {},
    jobLink(holder.job),
    ` — ${holder.pods} pod${holder.pods === 1 ? '' : 's'}, ${formatNumber(holder.gpus)} GPU`))) : null);
}

function gpuCell(node, slot) {
  const state = stateOf(slot.used, 1);
  const who = slot.holders.map((x) => `${x.job} (${formatNumber(x.amount)})`).join(', ');
  const mig = slot.group.migLayout?.length ? ` (MIG ${slot.group.migLayout.join(' + ')})` : '';
  const text = `GPU slot ${slot.index}${mig}: ${STATE_TEXT[state]}${who ? ` — ${who}` : ''}`;
  return h('li', {
    className: `gpu gpu-${state}${mig ? ' gpu-mig' : ''}`, 'data-gpu': `${node}/${slot.index}`,
    'data-state': state, title: text, 'aria-label': text,
  }, `${STATE_MARK[state]}${slot.index}${mig ? 'ᴹ' : ''}`);
}

function legend() {
  return h('ul', { className: 'legend', 'aria-label': 'Legend' },
    ['free', 'partial', 'full'].map((state) => h('li', {},
      h('span', { className: `gpu gpu-${state}`, 'aria-hidden': 'true' }, STATE_MARK[state]),
      ` ${STATE_TEXT[state]}`)),
    h('li', {}, h('span', { className: 'gpu gpu-free gpu-mig', 'aria-hidden': 'true' }, 'ᴹ'),
      ' MIG-partitioned'));
}
