// Reading the Prometheus text format of /metrics: one sample per line,
// `name{label="value",...} number`, comments starting with `#`.

export function parse(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseLine(line) {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace < 0 || (space >= 0 && space < brace)) {
    const value = line.slice(space + 1).trim().split(/\s+/)[0];
    return { name: line.slice(0, space), labels: {}, value: Number(value) };
  }
  const labels = {};
  let i = brace + 1;
  while (i < line.length && line[i] !== '}') {
    const eq = line.indexOf('=', i);
    const key = line.slice(i, eq).trim().replace(/^,/, '').trim();
    let value = '';
    let j = eq + 2; // past `="`
    while (j < line.length && line[j] !== '"') {
      if (line[j] === '\\' && j + 1 < line.length) {
        const next = line[j + 1];
        value += next === 'n' ? '\n' : next;
        j += 2;
      } else {
        value += line[j];
        j += 1;
      }
    }
    labels[key] = value;
    i = j + 1;
    if (line[i] === ',') i += 1;
  }
  const rest = line.slice(i + 1).trim().split(/\s+/)[0];
  return { name: line.slice(0, brace), labels, value: Number(rest) };
}

export function family(samples, name) {
  return samples.filter((sample) => sample.name === name);
}

export function sum(samples, name) {
  return family(samples, name).reduce((total, sample) => total + sample.value, 0);
}

// The cost gauges of /metrics, or `configured: false` when the server has no cost source
// (then `k8s4ai_cost_source_up` is absent, and /api/v1/allocation would answer 404).
// `rate` is what everything that exists costs per hour: what owners hold plus what is idle.
export function costRates(samples) {
  const up = family(samples, 'k8s4ai_cost_source_up');
  if (!up.length) return { configured: false };
  const allocated = sum(samples, 'k8s4ai_allocation_hourly_cost_dollars');
  const idle = sum(samples, 'k8s4ai_idle_hourly_cost_dollars');
  return { configured: true, up: up[0].value === 1, allocated, idle, rate: allocated + idle };
}
