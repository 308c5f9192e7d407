"""Pods that ask for k8s4ai become gangs, in our own and in Kueue's and coscheduling's
conventions, and those gangs become the scheduler's Workloads the way applied ones do."""

from __future__ import annotations

from typing import Any

import pytest

from k8s4ai.backends.kubernetes import workloads
from k8s4ai.controllers import admission_convert
from k8s4ai.scheduler import pods as sched_pods
from tests.backends.kubernetes.kube import kube_pod

GANG = {"k8s4ai.io/gang": "train", "k8s4ai.io/queue": "team-a"}


def _summary(pods: list[dict[str, Any]], **kw: Any) -> list[tuple[str, str, int, int | None]]:
    got = workloads.gangs(pods, **kw)
    assert got.problems == ()
    return [
        (
            admission_convert.job_key(g.gang),
            g.gang.spec.queue,
            g.gang.spec.total_pods(),
            g.gang.spec.min_member,
        )
        for g in got.gangs
    ]


@pytest.mark.parametrize(
    ("labels", "annotations", "expected"),
    [
        pytest.param(GANG, {}, ("team-a/train", "team-a"), id="own-labels"),
        pytest.param({}, GANG, ("team-a/train", "team-a"), id="own-annotations"),
        pytest.param(
            {"scheduling.x-k8s.io/pod-group": "train", "kueue.x-k8s.io/queue-name": "q1"},
            {},
            ("team-a/train", "q1"),
            id="pod-group-and-kueue",
        ),
    ],
)
def test_a_gang_is_read_from_each_convention(
    labels: dict[str, str], annotations: dict[str, str], expected: tuple[str, str]
) -> None:
    pods = [kube_pod(f"w{i}", labels=labels, annotations=annotations) for i in range(4)]
    assert _summary(pods) == [(*expected, 4, None)]


def test_min_member_comes_from_the_annotation_or_the_pod_group() -> None:
    annotated = [
        kube_pod(f"a{i}", labels=GANG, annotations={"k8s4ai.io/min-member": "2"}) for i in range(3)
    ]
    grouped = [
        kube_pod(f"b{i}", labels={"scheduling.x-k8s.io/pod-group": "pg", "k8s4ai.io/queue": "q"})
        for i in range(3)
    ]
    assert _summary(annotated + grouped, pod_groups={("team-a", "pg"): 3}) == [
        ("team-a/pg", "q", 3, 3),
        ("team-a/train", "team-a", 3, 2),
    ]


def test_a_pod_without_a_gang_is_a_gang_of_one_and_other_schedulers_pods_are_ignored() -> None:
    pods = [
        kube_pod("solo", labels={"k8s4ai.io/queue": "q"}),
        kube_pod("theirs", labels={"k8s4ai.io/queue": "q"}, scheduler="default-scheduler"),
        kube_pod("done", labels={"k8s4ai.io/queue": "q"}) | {"status": {"phase": "Succeeded"}},
    ]
    assert _summary(pods) == [("team-a/solo", "q", 1, None)]


def test_pods_that_cannot_form_a_gang_are_reported_each() -> None:
    pods = [
        kube_pod("a0", labels={"k8s4ai.io/gang": "a"}),
        kube_pod("b0", labels={"k8s4ai.io/gang": "b", "k8s4ai.io/queue": "q1"}),
        kube_pod("b1", labels={"k8s4ai.io/gang": "b", "k8s4ai.io/queue": "q2"}),
        kube_pod(
            "c0", labels=GANG | {"k8s4ai.io/gang": "c"}, annotations={"k8s4ai.io/min-member": "3"}
        ),
    ]
    got = workloads.gangs(pods)
    assert got.gangs == ()
    assert [str(p) for p in got.problems] == [
        "pod team-a/a0: no queue: label it k8s4ai.io/queue (or Kueue's kueue.x-k8s.io/queue-name)",
        "pod team-a/b0: its gang's pods name different queues: q1, q2",
        "pod team-a/b1: its gang's pods name different queues: q1, q2",
        "pod team-a/c0: waiting for its gang: 1 of at least 3 pods exist",
    ]


def test_the_gang_becomes_the_workload_an_applied_gang_would() -> None:
    """Pod sets by resource shape (a launcher beside the workers), GPUs from limits, the
    highest priority, the required topology level, and the pods' order kept."""
    labels = GANG
    pods = [
        kube_pod(
            f"w{i}", labels=labels, annotations={"k8s4ai.io/topology-required": "rack"}, priority=i
        )
        for i in range(3)
    ] + [kube_pod("launcher", labels=labels, gpus=0, cpu="2", memory="4Gi")]
    (g,) = workloads.gangs(pods).gangs
    wl = admission_convert.to_workload(g.gang, None, None, {})
    assert wl.name == "team-a/train" and wl.queue == "team-a" and wl.priority == 2
    assert g.gang.spec.topology is not None and g.gang.spec.topology.required == "rack"
    assert wl.pods == (
        sched_pods.PodRequest("team-a/train/pods/0", 2000, 4096),
        *(
            sched_pods.PodRequest(f"team-a/train/pods-1/{i}", 16000, 65536, 8, 1000)
            for i in range(3)
        ),
    )
    assert [m.name for m in g.members["pods-1"]] == ["w0", "w1", "w2"]
    assert g.gang.status.phase == "Pending"


def test_bound_pods_make_their_gang_running_where_they_are() -> None:
    pods = [kube_pod("w1", labels=GANG, node="gpu-1"), kube_pod("w0", labels=GANG)]
    pods.append(kube_pod("w2", labels=GANG | {"k8s4ai.io/pod-set": "workers"}, node="gpu-2"))
    (g,) = workloads.gangs(pods).gangs
    assert g.gang.status.phase == "Running"
    assert [(a.name, a.nodes) for a in g.gang.status.assignments] == [
        ("pods", ["gpu-1"]),
        ("workers", ["gpu-2"]),
    ]
    assert [m.name for m in g.members["pods"]] == ["w1", "w0"]


def test_a_gang_carries_the_labels_all_its_pods_share_and_its_estimated_duration() -> None:
    """What a Budget weighs: its selector matches the gang's labels, and it projects the
    gang's cost over its estimated duration."""
    pods = [
        kube_pod(f"w{i}", labels={**GANG, "team": "a", "experiment": "sft", "rank": str(i)},
                 annotations={"k8s4ai.io/estimated-duration": "1h30m"})
        for i in range(2)
    ]
    [found] = workloads.gangs(pods).gangs
    assert found.gang.metadata.labels == {**GANG, "team": "a", "experiment": "sft"}
    duration = found.gang.spec.estimated_duration
    assert duration is not None and duration.seconds == 5400
