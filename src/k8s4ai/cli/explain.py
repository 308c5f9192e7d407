"""`k8s4ai explain JOB`: why a training job (gang) is pending and what would let it start."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from k8s4ai.api import gang
from k8s4ai.cli import context, errors, up
from k8s4ai.controllers import admission, explain
from k8s4ai.scheduler.admission import policies
from k8s4ai.store import errors as store_errors


@click.command("explain")
@click.argument("job")
@click.option("-n", "--namespace", default="default", show_default=True)
@up.policy_option(
    "Admission policy to assume when no controller has decided yet (as `up --policy`)."
)
@click.pass_obj
def command(target: context.Target, job: str, namespace: str, policy: str) -> None:
    """Say why the GangSchedulingGroup JOB is not running, and what would let it start.

    The admission controller (run by `k8s4ai up`) admits gangs all-or-nothing and records
    on each one it leaves waiting a reason; explain reads that reason and looks again at the
    cluster as it is now: the queue's quota and who borrows from its cohort, where GPUs are
    free node by node, the job ahead of it.

    \b
    Reasons:
      QuotaExceeded    its queue (and cohort) has no quota left for it
      GangCannotFit    fewer GPUs are free than its pods need at once
      Fragmentation    enough GPUs are free, but not on nodes that can each hold a pod
      Unschedulable    no node could ever hold a pod: waiting will not help
      Preempted        it ran and was preempted (by whom, and what it lost)
      Checkpointing    saving its checkpoint after a preemption
      BlockedByHead    a job ahead of it in its queue waits first (strict FIFO, or it
                       holds the GPUs it waits for)
      BudgetExhausted  a Budget covering it has spent past a blocking threshold
      QueueHeld        its queue's stopPolicy holds new jobs
      QueueNotFound    its queue does not exist (or does not take its namespace)

    \b
    Examples:
      k8s4ai explain mixtral-pretrain -n team-a
      k8s4ai describe gang mixtral-pretrain -n team-a   # the stored condition and events
    """
    try:
        with context.connect(target) as store:
            found = store.get(gang.GangSchedulingGroup.kind_name, job, namespace)
            assert isinstance(found, gang.GangSchedulingGroup)
            objs = [o for kind in admission.KINDS for o in store.list(kind.kind_name).items]
    except store_errors.StoreError as err:
        raise errors.from_store(err) from None
    answer = explain.explain(found, objs, datetime.now(UTC), policies.get(policy))
    click.echo("\n".join(answer.lines()))
