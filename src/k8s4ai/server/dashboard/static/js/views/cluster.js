// Cluster: nodes grouped by their topology (the TopologyDomain levels above `node`), each a
// grid of GPU slots marked free, shared or allocated, with who holds them. Reads nodes,
// gangs, accelerator classes and topology domains.

import { formatNumber, h, jobLink, notAvailable, panel, section } from '../dom.js';
import * as model from '../model.js';

export const watches = ['nodes', 'gangschedulinggroups'];

const STATE_TEXT = { free: 'free', partial: 'shared', full: 'allocated' };
const STATE_MARK = { free: '○', partial: '◐', full: '●' };

export async function render(ctx) {
  const [nodes, gangs, classes, domains] = await Promise.all([
    ctx.list('nodes'), ctx.list('gangschedulinggroups'), ctx.list('acceleratorclasses'),
    ctx.list('topologydomains'),
  ]);
  const classMap = model.byName(classes);
  const holders = model.holdersByNode(gangs, classMap);
  const gangsByKey = new Map(gangs.map((g) => [model.key(g), g]));
  const selected = ctx.query.get('node');
  const groups = groupNodes(nodes, model.byName(domains));

  return section('cluster', 'Cluster',
    legend(),
    h('p', { className: 'note' }, 'The API says which nodes a job holds, not which GPU devices: '
      + 'slots are filled in job order, so a slot number is a position, not a device index.'),
    selected && !nodes.some((n) => n.metadata.name === selected)
      ? h('p', { role: 'alert' }, `No node named ${selected}.`) : null,
    groups.length ? groups.map(([label, members]) => domainPanel(
      label, members, holders, classMap, gangsByKey, selected))
      : h('p', {}, 'No nodes in the inventory.'),
    notAvailable('Utilisation', 'GPU busy time and memory used are not reported by the API yet; '
      + 'the grid shows allocation only.'));
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

function groupNodes(nodes, domains) {
  const groups = new Map();
  for (const node of nodes) {
    const label = placeOf(node, domains);
    if (!groups.has(label)) groups.set(label, []);
    groups.get(label).push(node);
  }
  for (const members of groups.values()) {
    members.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b));
}

// `zone z1 › block b1 › rack r1`: the node's values for the levels broader than `node`.
function placeOf(node, domains) {
  const where = node.spec.topology || {};
  const domain = domains.get(node.spec.topologyName || 'default');
  let levels = domain ? domain.spec.levels.map((l) => l.name) : Object.keys(where);
  const cut = levels.indexOf('node');
  if (cut >= 0) levels = levels.slice(0, cut);
  const parts = levels.filter((l) => where[l] !== undefined).map((l) => `${l} ${where[l]}`);
  return parts.length ? parts.join(' › ') : 'no topology';
}

function domainPanel(label, members, holders, classes, gangs, selected) {
  let total = 0;
  let used = 0;
  const cards = members.map((node) => {
    const slots = model.fillSlots(node, holders.get(node.metadata.name));
    total += slots.length;
    used += slots.reduce((sum, s) => sum + s.used, 0);
    return nodeCard(node, slots, holders.get(node.metadata.name) || [], classes, gangs, selected);
  });
  return panel(label,
    h('p', { className: 'summary' }, `${members.length} nodes, ${formatNumber(used)} of ${total} GPUs allocated`),
    h('div', { className: 'nodes' }, cards));
}

function nodeCard(node, slots, holders, classes, gangs, selected) {
  const name = node.metadata.name;
  const fence = model.fenced(node);
  const groups = (node.spec.gpus || []).map((g) => {
    const cls = classes.get(g.acceleratorClass);
    const vram = cls ? ` × ${cls.spec.vram}` : '';
    const mig = g.migLayout?.length ? `, MIG ${g.migLayout.join(' + ')} per GPU` : '';
    return `${g.count} ${g.acceleratorClass}${vram}${mig}`;
  });
  return h('article', {
    className: `node${name === selected ? ' selected' : ''}${fence ? ' fenced' : ''}`,
    'data-node-card': name, tabindex: '-1', 'aria-label': `node ${name}`,
    'aria-current': name === selected ? 'true' : null,
  },
  h('h3', {}, name, fence ? h('span', { className: 'badge warn' }, `⚠ ${fence}`) : null),
  h('p', { className: 'node-spec' }, `${groups.join('; ') || 'no GPUs'} · ${node.spec.cpu} CPU · ${node.spec.memory}`),
  slots.length ? h('ol', { className: 'gpus', 'aria-label': `GPU slots of ${name}` },
    slots.map((slot) => gpuCell(name, slot))) : null,
  holders.length ? h('ul', { className: 'holders' }, holders.map((holder) => h('li', {},
    gangs.get(holder.job) ? jobLink(gangs.get(holder.job)) : holder.job,
    ` — ${holder.pods} pod${holder.pods === 1 ? '' : 's'}, ${formatNumber(holder.gpus)} GPU`))) : null);
}

function gpuCell(node, slot) {
  const state = slot.used <= 1e-9 ? 'free' : slot.used >= 1 - 1e-9 ? 'full' : 'partial';
  const who = slot.holders.map((x) => `${x.job} (${formatNumber(x.amount)})`).join(', ');
  const mig = slot.group.migLayout?.length ? ` (MIG ${slot.group.migLayout.join(' + ')})` : '';
  const text = `GPU slot ${slot.index}${mig}: ${STATE_TEXT[state]}${who ? ` — ${who}` : ''}`;
  return h('li', {
    className: `gpu gpu-${state}${mig ? ' gpu-mig' : ''}`, 'data-gpu': `${node}/${slot.index}`,
    'data-state': state, title: text, 'aria-label': text,
  }, h('span', { 'aria-hidden': 'true' }, `${STATE_MARK[state]}${slot.index}${mig ? 'ᴹ' : ''}`));
}

function legend() {
  return h('ul', { className: 'legend', 'aria-label': 'Legend' },
    ['free', 'partial', 'full'].map((state) => h('li', {},
      h('span', { className: `gpu gpu-${state}`, 'aria-hidden': 'true' }, STATE_MARK[state]),
      ` ${STATE_TEXT[state]}`)),
    h('li', {}, h('span', { className: 'gpu gpu-free gpu-mig', 'aria-hidden': 'true' }, 'ᴹ'),
      ' MIG-partitioned'));
}
