// Inline SVG charts, no library. Each bar also carries its number as text, and idle or
// allocated parts are hatched as well as coloured (patterns `hatch-idle` and `hatch-used`
// are defined once in index.html), so nothing rests on colour alone.

import { h } from './dom.js';

const ROW = 26;
const LABEL = 180;
const WIDTH = 640;
const VALUE = 110;

// Horizontal bars: rows of {label, value, text, idle}. `title` names the chart for readers.
export function barChart(title, rows) {
  const max = Math.max(...rows.map((r) => r.value), 0) || 1;
  const span = WIDTH - LABEL - VALUE;
  const height = rows.length * ROW + 8;
  const svg = h('svg:svg', {
    viewBox: `0 0 ${WIDTH} ${height}`, width: '100%', role: 'img', 'aria-label': title,
    class: 'chart',
  }, h('svg:title', {}, title));
  rows.forEach((row, i) => {
    const y = 4 + i * ROW;
    const width = Math.max(row.value > 0 ? 1 : 0, (Math.max(row.value, 0) / max) * span);
    svg.append(
      h('svg:text', {
        x: LABEL - 8, y: y + 16, 'text-anchor': 'end', class: 'chart-label',
      }, truncate(row.label, 26)),
      h('svg:rect', {
        x: LABEL, y: y + 3, width, height: ROW - 8, class: row.idle ? 'bar-idle' : 'bar',
        fill: row.idle ? 'url(#hatch-idle)' : null,
      }, h('svg:title', {}, `${row.label}: ${row.text}`)),
      h('svg:text', { x: LABEL + width + 6, y: y + 16, class: 'chart-value' }, row.text),
    );
  });
  return svg;
}

// One allocated-of-total bar: the allocated part filled and hatched, the rest outlined.
export function usageBar(used, total, label) {
  const fraction = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  return h('svg:svg', {
    viewBox: '0 0 100 10', width: '120', height: '12', role: 'img', class: 'usage-bar',
    'aria-label': label, preserveAspectRatio: 'none',
  },
  h('svg:rect', { x: 0, y: 0, width: 100, height: 10, class: 'usage-free' }),
  h('svg:rect', {
    x: 0, y: 0, width: 100 * fraction, height: 10, class: 'usage-used', fill: 'url(#hatch-used)',
  }));
}

function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
