// Inference: InferenceServices (model, replicas wanted and ready, endpoints) and the
// ContentRouters in front of them (policy, ready replicas, where they serve), with what each
// router measured over its last minute as it writes it into its status (requests/s, TTFT,
// prefix hit rate, tokens/s; empty = not measured) and, where the cost API prices the
// service, its serving cost per million tokens over that same window: the service's cost in
// /api/v1/allocation (aggregated by namespace and inference-service, as finops/tco.py does)
// divided by the tokens the router saw, as TCO's serving_per_million divides cost by tokens.
// Reads inference services, content routers, /api/v1/cost and /api/v1/allocation.

import * as api from '../api.js';
import {
  emptyRow, formatMoney, formatNumber, h, panel, queueLink, section, table,
} from '../dom.js';
import * as model from '../model.js';

const NOT_MEASURED = 'not measured';
const COST_TTL_MS = 5000;

export const watches = ['inferenceservices', 'contentrouters'];

export async function render(ctx) {
  const [services, routers] = await Promise.all([ctx.list('inferenceservices'), ctx.list('contentrouters')]);
  const ready = services.reduce((t, s) => t + (s.status?.readyReplicas ?? 0), 0);
  const wanted = services.reduce((t, s) => t + (s.spec.replicas ?? 0), 0);
  const costs = await servingCosts(ctx, routers);
  return section('inference', 'Inference',
    h('p', { className: 'summary' }, `${services.length} services, ${ready} of ${wanted} replicas ready, ${routers.length} routers.`),
    servicesPanel(services),
    routersPanel(routers, new Map(services.map((s) => [model.key(s), s]))),
    trafficPanel(routers, costs));
}

// Serving cost per "namespace/service" over each distinct router window (in whole seconds),
// or an empty map when the server has no cost source.
async function servingCosts(ctx, routers) {
  const windows = new Set(routers.map((r) => windowSeconds(r)).filter((w) => w !== null));
  if (!windows.size) return new Map();
  const summary = await ctx.costs();
  if (!summary.configured) return new Map();
  const found = new Map();
  await Promise.all([...windows].map(async (w) => {
    const body = await api.allocationCached({
      window: `${w}s`, aggregate: 'namespace,inference-service', accumulate: 'true',
    }, COST_TTL_MS);
    for (const line of Object.values(body.data?.[0] || {})) found.set(`${w}:${line.name}`, line.totalCost);
  }));
  return found;
}

function windowSeconds(router) {
  const w = router.status?.observedWindowSeconds;
  return w === null || w === undefined || w < 1 ? null : Math.round(w);
}

// Dollars per million tokens, or null when the service is not priced, served no tokens, or
// cost less than the cent the allocation API rounds to within the window.
function perMillionTokens(router, costs) {
  const st = router.status || {};
  const w = windowSeconds(router);
  if (w === null || !router.spec.service || !(st.tokensPerSecond > 0)) return null;
  const cost = costs.get(`${w}:${router.metadata.namespace}/${router.spec.service}`);
  if (cost === undefined || !(cost > 0)) return null;
  return (cost / (st.tokensPerSecond * st.observedWindowSeconds)) * 1e6;
}

function measured(field, value, text) {
  const absent = value === null || value === undefined;
  return h('td', {
    className: absent ? 'num na' : 'num', 'data-field': field, 'data-value': absent ? '' : String(value),
  }, absent ? NOT_MEASURED : text);
}

function trafficPanel(routers, costs) {
  const rows = routers.map((r) => {
    const st = r.status || {};
    const perMillion = perMillionTokens(r, costs);
    const since = st.lastSampleTime ? new Date(st.lastSampleTime).toLocaleTimeString('en-GB') : null;
    return h('tr', { 'data-traffic': `${r.metadata.namespace}/${r.metadata.name}` },
      h('th', { scope: 'row' }, `${r.metadata.namespace}/${r.metadata.name}`),
      measured('requestsPerSecond', st.requestsPerSecond, formatNumber(st.requestsPerSecond)),
      measured('ttftP50Ms', st.ttftP50Ms, `${formatNumber(st.ttftP50Ms, 1)} ms`),
      measured('ttftP95Ms', st.ttftP95Ms, `${formatNumber(st.ttftP95Ms, 1)} ms`),
      measured('prefixHitRate', st.prefixHitRate, `${formatNumber(100 * st.prefixHitRate, 1)}%`),
      measured('tokensPerSecond', st.tokensPerSecond, formatNumber(st.tokensPerSecond, 0)),
      measured('costPerMillionTokens', perMillion, perMillion === null ? '' : formatMoney(perMillion)),
      measured('observedWindowSeconds', st.observedWindowSeconds, `last ${formatNumber(st.observedWindowSeconds, 0)} s, at ${since}`));
  });
  return panel('Traffic, as each router measured it', table(
    ['Router', 'Requests/s', 'TTFT p50', 'TTFT p95', 'Prefix hit rate', 'Tokens/s', 'Serving cost per 1M tokens', 'Window'],
    rows.length ? rows : [emptyRow(8, 'No ContentRouters.')]),
    h('p', { className: 'summary' }, 'TTFT counts streamed answers only; the prefix hit rate is '
      + 'the share of prompt blocks the router believed cached on the replica it chose; the '
      + 'serving cost is the service\'s cost over the router\'s window (rounded to the cent by '
      + `the cost API) per million tokens seen in it. "${NOT_MEASURED}": nothing measures it now.`));
}

function servicesPanel(services) {
  const rows = services.map((s) => {
    const st = s.status || {};
    const bounds = `${s.spec.minReplicas ?? s.spec.replicas}–${s.spec.maxReplicas ?? s.spec.replicas}`;
    const admitted = model.condition(s, 'Admitted');
    return h('tr', { 'data-service': `${s.metadata.namespace}/${s.metadata.name}` },
      h('th', { scope: 'row' }, `${s.metadata.namespace}/${s.metadata.name}`),
      h('td', {}, s.spec.model), h('td', {}, s.spec.runtime),
      h('td', { className: 'num' }, `${st.readyReplicas ?? 0} / ${s.spec.replicas}`),
      h('td', { className: 'num' }, bounds),
      h('td', {}, `${formatNumber(s.spec.resources?.gpus ?? 0)} ${s.spec.resources?.acceleratorClass || ''}`),
      h('td', {}, queueLink(s.spec.queue)),
      h('td', {}, s.spec.router || '—'),
      h('td', {}, endpointList(st.endpoints)),
      h('td', { className: 'message' }, admitted ? `${admitted.reason}: ${admitted.message}` : '—'));
  });
  return panel('InferenceServices', table(
    ['Service', 'Model', 'Runtime', 'Ready / wanted', 'Min–max', 'GPUs per replica', 'Queue', 'Router', 'Endpoints', 'Admission'],
    rows.length ? rows : [emptyRow(10, 'No InferenceServices.')]));
}

function routersPanel(routers, services) {
  const rows = routers.map((r) => {
    const st = r.status || {};
    const service = r.spec.service ? services.get(`${r.metadata.namespace}/${r.spec.service}`) : null;
    const endpoints = r.spec.service ? service?.status?.endpoints : r.spec.endpoints;
    return h('tr', { 'data-router': `${r.metadata.namespace}/${r.metadata.name}` },
      h('th', { scope: 'row' }, `${r.metadata.namespace}/${r.metadata.name}`),
      h('td', {}, r.spec.service || 'fixed endpoints'),
      h('td', {}, r.spec.policy),
      h('td', { className: 'num' }, String(st.readyReplicas ?? 0)),
      h('td', {}, st.url ? h('code', {}, st.url) : 'not serving'),
      h('td', {}, endpointList(endpoints)));
  });
  return panel('ContentRouters', table(
    ['Router', 'Service', 'Policy', 'Ready replicas', 'URL', 'Replicas'],
    rows.length ? rows : [emptyRow(6, 'No ContentRouters.')]));
}

function endpointList(endpoints) {
  if (!endpoints?.length) return '—';
  return h('ul', { className: 'endpoints' }, endpoints.map((e) => h('li', {}, h('code', {}, e))));
}
