"""The trace catalog on a tiny traces folder written per test: names, windows, cluster
sizing, Philly's VC queues and the Pollux duration model."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s4ai.traces import catalog, csvrows, jobs

PHILLY = (
    "timestamp,duration,num_gpus,gpu_time,cluster\n"
    "2017-10-01 00:00:00,3600,8,28800,big\n"
    "2017-10-01 01:00:00,1800,1,1800,small\n"
    "2017-10-01 02:00:00,600,2,1200,stray\n"
    "2017-10-03 00:00:00,7200,4,28800,big\n"
)
VC = "vc,node num\nbig,30\nsmall,10\nunused,5\n"
ITP = "job_id,submission_time,duration,num_gpu\na,0,36000,16\nb,3600,3600,1\nc,7200,3600,2\n"
POLLUX = (
    "name,time,application,num_replicas,batch_size\n"
    "cifar10-0,0,cifar10,2,256\n"
    "imagenet-1,60,imagenet,32,3200\n"
    "bert-2,120,bert,1,12\n"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    files = {
        catalog.SHARED["philly"].path: PHILLY,
        catalog.PHILLY_VC: VC,
        catalog.SHARED["itp-02"].path: ITP,
        catalog.SHARED["pollux-3"].path: POLLUX,
    }
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def record(gpus: int, submit: float, duration: float) -> jobs.JobRecord:
    return jobs.JobRecord(f"j{submit}", submit, duration, gpus, None)


def test_the_catalog_names_every_shared_trace_and_a_synthetic_one_per_profile() -> None:
    names = catalog.names()
    assert names[:7] == ["philly", "itp-01", "itp-02", "itp-03", "itp-04", "itp-05", "crux"]
    assert [n for n in names if n.startswith("pollux-")] == [
        *(f"pollux-{i}" for i in range(1, 9)),
        *(f"pollux-realistic-{i}" for i in range(1, 9)),
    ]
    assert "synthetic-crux" in names and "synthetic-itp-cluster04" in names


def test_available_lists_only_files_present(root: Path) -> None:
    assert catalog.available(root) == ["philly", "itp-02", "pollux-3"]
    assert catalog.available(None) == []


@pytest.mark.parametrize(
    ("records", "load", "nodes", "reason"),
    [
        # 10 h of arrivals asking 8 GPUs × 10 h each → 2 × 80 GPU-h over 10 h = 16 GPUs busy;
        # at 80 %, 20 GPUs → 3 nodes.
        ([record(8, 0, 36000), record(8, 36000, 36000)], 0.8, 3, "load"),
        ([record(8, 0, 36000), record(8, 36000, 36000)], 0.5, 4, "load"),
        # Little work but one 64-GPU job: 8 nodes whatever the load.
        ([record(64, 0, 60), record(1, 36000, 60)], 0.8, 8, "largest job"),
        # One arrival instant: no span, so the largest job decides.
        ([record(3, 5, 100)], 0.8, 1, "largest job"),
    ],
    ids=["by-load", "lower-load-more-nodes", "largest-job", "single-instant"],
)
def test_cluster_size(records: list[jobs.JobRecord], load: float, nodes: int, reason: str) -> None:
    sizing = catalog.size(records, load)
    assert (sizing.nodes, sizing.reason) == (nodes, reason)
    if reason == "load":
        assert sizing.offered_load <= load
        assert catalog.offered_load(records, (nodes - 1) * 8) > load


def test_given_nodes_override_the_load() -> None:
    sizing = catalog.size([record(8, 0, 36000), record(8, 36000, 36000)], nodes=10)
    assert (sizing.nodes, sizing.gpus, sizing.reason) == (10, 80, "given")
    assert sizing.offered_load == pytest.approx(160 / (10 * 80))


def test_philly_vcs_become_weighted_queues_in_one_cohort(root: Path) -> None:
    trace = catalog.load("philly", root)
    assert [r.queue for r in trace.jobs] == ["big", "small", "other", "big"]
    # Weights: the VC's node count; unlisted VCs share `other`, weighted as one node;
    # listed VCs without jobs are left out.
    assert trace.weights == (("big", 30.0), ("small", 10.0), ("other", 1.0))
    assert (trace.cohort, trace.real_nodes) == ("philly", 45)
    queues = catalog.queues(trace, 82)
    assert [(q.name, q.cohort, q.weight) for q in queues] == [
        ("big", "philly", 30.0),
        ("small", "philly", 10.0),
        ("other", "philly", 1.0),
    ]
    nominal = [q.limits[catalog.GPU].nominal for q in queues]
    assert nominal == pytest.approx([60.0, 20.0, 2.0])
    assert all(q.limits[catalog.GPU].borrowing_limit is None for q in queues)


def test_philly_without_the_vc_file_weighs_every_vc_the_same(root: Path) -> None:
    (root / catalog.PHILLY_VC).unlink()
    trace = catalog.load("philly", root)
    assert trace.weights == (("big", 1.0), ("small", 1.0), ("stray", 1.0))
    assert trace.real_nodes is None
    assert any("every virtual cluster weighs the same" in n for n in trace.notes)


def test_traces_without_teams_get_one_queue_owning_the_cluster(root: Path) -> None:
    trace = catalog.load("itp-02", root)
    assert {r.queue for r in trace.jobs} == {"default"}
    assert (trace.real_nodes, trace.real_note) == (None, "unknown")
    (queue,) = catalog.queues(trace, 24)
    assert (queue.name, queue.cohort, queue.limits[catalog.GPU].nominal) == ("default", None, 24)


def test_pollux_durations_are_application_gpu_hours_over_replicas(root: Path) -> None:
    trace = catalog.load("pollux-3", root)
    durations = {r.name: r.duration_seconds for r in trace.jobs}
    hours = catalog.POLLUX_GPU_HOURS
    assert durations == pytest.approx(
        {
            "cifar10-0": hours["cifar10"] * 3600 / 2,
            "imagenet-1": hours["imagenet"] * 3600 / 32,
            "bert-2": hours["bert"] * 3600,
        }
    )
    # The GPU-time a job asks for does not depend on its replicas.
    assert catalog.work(trace.jobs) == pytest.approx(
        3600 * (hours["cifar10"] + hours["imagenet"] + hours["bert"])
    )


def test_pollux_sizes_follow_the_papers_categories() -> None:
    hours = catalog.POLLUX_GPU_HOURS
    assert hours["cifar10"] < 1 and hours["ncf"] < 1
    assert 1 <= hours["deepspeech2"] < 10 and 1 <= hours["bert"] < 10
    assert 10 <= hours["yolov3"] < 100
    assert 100 <= hours["imagenet"] < 1000


def test_an_unknown_pollux_application_is_an_error(root: Path) -> None:
    path = root / catalog.SHARED["pollux-3"].path
    path.write_text(POLLUX + "gpt-3,180,gpt,8,64\n", encoding="utf-8")
    with pytest.raises(csvrows.TraceError, match="no duration model for application 'gpt'"):
        catalog.load("pollux-3", root)


def test_a_window_keeps_days_and_rebases(root: Path) -> None:
    trace = catalog.load("philly@1-3", root)
    assert trace.name == "philly@1-3"
    assert [(r.submit_seconds, r.queue) for r in trace.jobs] == [(0.0, "big")]
    assert trace.weights == (("big", 30.0),)
    assert "days [1, 3)" in trace.notes[-1]
    with pytest.raises(ValueError, match="no job"):
        catalog.load("philly@5-6", root)
    with pytest.raises(ValueError, match="earlier day"):
        catalog.load("philly@3-1", root)


def test_a_file_path_is_loaded_by_its_header(root: Path) -> None:
    path = root / catalog.SHARED["itp-02"].path
    trace = catalog.load(str(path), None)
    assert (trace.name, len(trace.jobs)) == ("cluster02", 3)


def test_synthetic_traces_need_no_folder_and_follow_the_seed() -> None:
    first = catalog.load("synthetic-crux", None, seed=3, synthetic_count=50)
    again = catalog.load("synthetic-crux", None, seed=3, synthetic_count=50)
    other = catalog.load("synthetic-crux", None, seed=4, synthetic_count=50)
    assert len(first.jobs) == 50 and first.jobs == again.jobs != other.jobs
    assert all(r.duration_seconds and r.queue == "default" for r in first.jobs)


def test_unknown_and_missing_traces_say_what_is_known(tmp_path: Path) -> None:
    with pytest.raises(catalog.UnknownTraceError, match="known: philly, itp-01"):
        catalog.load("nope", tmp_path)
    with pytest.raises(catalog.MissingTraceError, match="synthetic-philly"):
        catalog.load("crux", tmp_path)
    with pytest.raises(catalog.MissingTraceError, match="no traces folder"):
        catalog.load("crux", None)
