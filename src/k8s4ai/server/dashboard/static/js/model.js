// What the views derive from API objects in the page: a job's GPUs and placements, how long
// it waits, how its node's GPU slots fill. Cluster-wide figures (GPUs allocated, backlogs,
// who holds each node) are the server's: /api/v1/summary and /api/v1/occupancy.

export const HOLDING = ['Admitted', 'Running'];
// Phases in which a gang holds the nodes its status.assignments name (as admission says).
export const WAITING = ['Pending', 'Preempted'];
// Phases in which a gang waits to be admitted.

const MIG_COMPUTE_SLICES = 7;

export function key(obj) {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export function byName(items) {
  return new Map(items.map((item) => [item.metadata.name, item]));
}

// GPUs one pod holds, as admission charges it: whole GPUs, a fraction, or a MIG instance
// as its compute slices out of the GPU's 7.
export function podShare(resources, classes) {
  if (resources.migProfile) {
    const cls = classes.get(resources.acceleratorClass);
    const profile = cls?.spec.migProfiles?.find((p) => p.name === resources.migProfile);
    const slices = profile ? profile.computeSlices : Number(resources.migProfile[0]);
    return slices / MIG_COMPUTE_SLICES;
  }
  return Number(resources.gpus || 0);
}

export function phase(gang) {
  return gang.status?.phase || 'Pending';
}

export function holds(gang) {
  return HOLDING.includes(phase(gang));
}

export function waits(gang) {
  return WAITING.includes(phase(gang));
}

// Every (node, pods, GPUs) a holding gang's assignments name: a node appears once per pod.
export function placements(gang, classes) {
  if (!holds(gang)) return [];
  const podSets = new Map(gang.spec.podSets.map((ps) => [ps.name, ps]));
  const found = [];
  for (const assignment of gang.status.assignments || []) {
    const podSet = podSets.get(assignment.name);
    if (!podSet) continue;
    const share = podShare(podSet.resources, classes);
    const cls = assignment.acceleratorClass || podSet.resources.acceleratorClass || null;
    const pods = new Map();
    for (const node of assignment.nodes || []) pods.set(node, (pods.get(node) || 0) + 1);
    for (const [node, count] of pods) {
      const mig = Boolean(podSet.resources.migProfile);
      found.push({ node, podSet: podSet.name, pods: count, gpus: count * share, cls, share, mig });
    }
  }
  return found;
}

// The API says which nodes a job holds, not which GPU devices: the dashboard fills a node's
// GPU slots in job order (whole GPUs first-fit, shares packed into the first slot with room).
// A slot's number is its position in that fill, not a device index.
export function fillSlots(node, holders) {
  const slots = [];
  for (const group of node.spec.gpus || []) {
    for (let i = 0; i < group.count; i += 1) {
      slots.push({ index: slots.length, group, used: 0, holders: [] });
    }
  }
  for (const holder of holders || []) {
    const each = holder.share >= 1 ? Math.round(holder.share) : holder.share;
    for (let pod = 0; pod < holder.pods; pod += 1) {
      if (each >= 1) {
        let need = each;
        for (const slot of slots) {
          if (need === 0) break;
          if (slot.used === 0 && matches(slot, holder, true)) {
            take(slot, holder, 1);
            need -= 1;
          }
        }
      } else {
        const fits = (s) => s.used + each <= 1 + 1e-9;
        const slot = slots.find((s) => fits(s) && matches(s, holder, true))
          || slots.find((s) => fits(s) && matches(s, holder, false))
          || slots.find(fits);
        if (slot) take(slot, holder, each);
      }
    }
  }
  return slots;
}

// A slot of the holder's class; with `strict`, also MIG-partitioned exactly when the holder
// asks for a MIG instance (whole and fractional pods go to unpartitioned GPUs first).
function matches(slot, holder, strict) {
  const cls = !holder.cls || slot.group.acceleratorClass === holder.cls;
  return cls && (!strict || Boolean(slot.group.migLayout?.length) === Boolean(holder.mig));
}

function take(slot, holder, amount) {
  slot.used += amount;
  const mine = slot.holders.find((h) => h.job === holder.job);
  if (mine) mine.amount += amount;
  else slot.holders.push({ job: holder.job, amount });
}

export function condition(obj, type) {
  return (obj.status?.conditions || []).find((c) => c.type === type) || null;
}

// When a waiting gang started to wait: since its Admitted condition turned False (kept
// across passes while it stays False), else since it was created.
export function waitingSince(gang) {
  const admitted = condition(gang, 'Admitted');
  const at = admitted && admitted.status === 'False' && admitted.lastTransitionTime
    ? admitted.lastTransitionTime : gang.metadata.creationTimestamp;
  return at ? new Date(at).getTime() : null;
}

export function waitSeconds(gang, now) {
  const since = waitingSince(gang);
  return since === null ? null : Math.max(0, (now - since) / 1000);
}

export function gangGpus(gang, classes) {
  return gang.spec.podSets.reduce(
    (total, ps) => total + (ps.count || 1) * podShare(ps.resources || {}, classes), 0);
}
