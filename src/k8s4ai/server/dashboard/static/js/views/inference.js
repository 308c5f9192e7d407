// Inference: InferenceServices (model, replicas wanted and ready, endpoints) and the
// ContentRouters in front of them (policy, ready replicas, where they serve). Request rates,
// TTFT and cache hits live on each router's own /metrics, another origin the page does not
// call. Reads inference services and content routers.

import {
  emptyRow, formatNumber, h, notAvailable, panel, queueLink, section, table,
} from '../dom.js';
import * as model from '../model.js';

export const watches = ['inferenceservices', 'contentrouters'];

export async function render(ctx) {
  const [services, routers] = await Promise.all([ctx.list('inferenceservices'), ctx.list('contentrouters')]);
  const ready = services.reduce((t, s) => t + (s.status?.readyReplicas ?? 0), 0);
  const wanted = services.reduce((t, s) => t + (s.spec.replicas ?? 0), 0);
  return section('inference', 'Inference',
    h('p', { className: 'summary' }, `${services.length} services, ${ready} of ${wanted} replicas ready, ${routers.length} routers.`),
    servicesPanel(services),
    routersPanel(routers, new Map(services.map((s) => [model.key(s), s]))),
    notAvailable('Requests, latency and cache hits', 'requests/s, time to first token, prefix-cache '
      + 'hit rate and cost per million tokens are exported on each router\'s own /metrics '
      + '(at its URL above); the API server does not collect them yet.'));
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
      h('td', { className: 'num' }, st.prefixHitRate === undefined ? '—' : `${formatNumber(100 * st.prefixHitRate, 1)}%`),
      h('td', {}, endpointList(endpoints)));
  });
  return panel('ContentRouters', table(
    ['Router', 'Service', 'Policy', 'Ready replicas', 'URL', 'Prefix hit rate', 'Replicas'],
    rows.length ? rows : [emptyRow(7, 'No ContentRouters.')]));
}

function endpointList(endpoints) {
  if (!endpoints?.length) return '—';
  return h('ul', { className: 'endpoints' }, endpoints.map((e) => h('li', {}, h('code', {}, e))));
}
