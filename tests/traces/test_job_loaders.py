"""The job-trace loaders on small synthetic CSVs: one per format, dispatch and errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from k8s4ai.traces import csvrows, jobs

PHILLY = "timestamp,duration,num_gpus,gpu_time,cluster\n"
ITP = "job_id,submission_time,duration,num_gpu\n"
CRUX = "#job id,arrival time (sec),topology,shape,size,duration (sec)\n"
POLLUX = "name,time,application,num_replicas,batch_size\n"

Loader = Callable[[Path], list[jobs.JobRecord]]


def job(
    name: str, submit: float, duration: float | None, gpus: int, queue: str | None = None
) -> jobs.JobRecord:
    return jobs.JobRecord(name, submit, duration, gpus, queue)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def _write(text: str) -> Path:
        path = tmp_path / "trace.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def test_philly_rebases_sorts_and_takes_the_queue_from_the_cluster(
    write: Callable[[str], Path],
) -> None:
    path = write(
        PHILLY
        + "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
        + "2017-10-09 06:13:03,2951.0,2,5902.0,6214e9\n"
        + "2017-10-10 06:13:03,10.5,8,84.0,11cb48\n"
    )
    assert jobs.load_philly(path) == [
        job("philly-2", 0.0, 2951.0, 2, "6214e9"),
        job("philly-1", 2932.0, 66.0, 1, "11cb48"),
        job("philly-3", 86400.0, 10.5, 8, "11cb48"),
    ]


def test_itp_rebases_and_breaks_ties_by_name(write: Callable[[str], Path]) -> None:
    path = write(ITP + "zeta,5010,1265,1\nalpha,5010,600,64\nmid,4000,700,4\n")
    assert jobs.load_itp(path) == [
        job("mid", 0.0, 700.0, 4),
        job("alpha", 1010.0, 600.0, 64),
        job("zeta", 1010.0, 1265.0, 1),
    ]


def test_crux_reads_the_hash_header_and_size_as_gpus(write: Callable[[str], Path]) -> None:
    path = write(CRUX + "0,100.0,CLOS,48,48,720.0\n1,5140.0,CLOS,8,256,0.0\n")
    assert jobs.load_crux(path) == [
        job("crux-0", 0.0, 720.0, 48),
        job("crux-1", 5040.0, 0.0, 256),
    ]


def test_pollux_has_replicas_as_gpus_and_no_duration(write: Callable[[str], Path]) -> None:
    path = write(POLLUX + "cifar10-0,107,cifar10,6,2048\nncf-1,135,ncf,1,32768\n")
    assert jobs.load_pollux(path) == [
        job("cifar10-0", 0.0, None, 6),
        job("ncf-1", 28.0, None, 1),
    ]


def test_jobs_without_gpus_are_dropped_before_rebasing(write: Callable[[str], Path]) -> None:
    path = write(ITP + "cpu,100,5,0\ngpu,150,5,2\n")
    assert jobs.load_itp(path) == [job("gpu", 0.0, 5.0, 2)]


@pytest.mark.parametrize(
    ("header", "row", "loader"),
    [
        pytest.param(PHILLY, "2017-10-09 07:01:55,66.0,1,66.0,vc", jobs.load_philly, id="philly"),
        pytest.param(ITP, "a,1,2,3", jobs.load_itp, id="itp"),
        pytest.param(CRUX, "0,1,CLOS,4,4,2", jobs.load_crux, id="crux"),
        pytest.param(POLLUX, "a,1,ncf,2,32", jobs.load_pollux, id="pollux"),
        pytest.param(
            "cluster,num_gpus,gpu_time,duration,timestamp\n",
            "vc,1,66.0,66.0,2017-10-09 07:01:55",
            jobs.load_philly,
            id="columns-in-another-order",
        ),
    ],
)
def test_load_dispatches_on_the_header(
    write: Callable[[str], Path], header: str, row: str, loader: Loader
) -> None:
    path = write(header + row + "\n")
    assert jobs.load(path) == loader(path)


def test_load_lists_the_known_formats_for_an_unknown_header(
    write: Callable[[str], Path],
) -> None:
    path = write("a,b\n1,2\n")
    with pytest.raises(csvrows.TraceError) as err:
        jobs.load(path)
    assert str(err.value) == (
        f"{path}: line 1: unknown job trace header 'a,b'; known formats: "
        "philly (timestamp,duration,num_gpus,gpu_time,cluster); "
        "itp (job_id,submission_time,duration,num_gpu); "
        "crux (#job id,arrival time (sec),topology,shape,size,duration (sec)); "
        "pollux (name,time,application,num_replicas,batch_size)"
    )


@pytest.mark.parametrize(
    ("text", "loader", "message"),
    [
        pytest.param(
            PHILLY + "2017-10-09 07:01:55,66.0,1,66.0,vc\n2017-13-09 07:01:55,1,1,1,vc\n",
            jobs.load_philly,
            "line 3: column timestamp: '2017-13-09 07:01:55': "
            "time data '2017-13-09 07:01:55' does not match format '%Y-%m-%d %H:%M:%S'",
            id="philly-bad-timestamp",
        ),
        pytest.param(
            PHILLY + "2017-10-09 07:01:55,-1,1,1,vc\n",
            jobs.load_philly,
            "line 2: column duration: '-1': cannot be negative",
            id="philly-negative-duration",
        ),
        pytest.param(
            PHILLY + "2017-10-09 07:01:55,1,1,1,\n",
            jobs.load_philly,
            "line 2: column cluster: '': cannot be empty",
            id="philly-empty-cluster",
        ),
        pytest.param(
            ITP + "a,abc,1,1\n",
            jobs.load_itp,
            "line 2: column submission_time: 'abc': could not convert string to float: 'abc'",
            id="itp-bad-number",
        ),
        pytest.param(
            ITP + "a,1,nan,1\n",
            jobs.load_itp,
            "line 2: column duration: 'nan': must be a finite number",
            id="itp-nan-duration",
        ),
        pytest.param(
            ITP + "a,1,1,-2\n",
            jobs.load_itp,
            "line 2: column num_gpu: '-2': cannot be negative",
            id="itp-negative-gpus",
        ),
        pytest.param(
            ITP + "a,1,1,1.5\n",
            jobs.load_itp,
            "line 2: column num_gpu: '1.5': invalid literal for int() with base 10: '1.5'",
            id="itp-fractional-gpus",
        ),
        pytest.param(
            ITP + "a,1\n",
            jobs.load_itp,
            "line 2: column duration: None: the row has too few columns",
            id="itp-short-row",
        ),
        pytest.param(
            CRUX + "0,-5.0,CLOS,1,1,1\n",
            jobs.load_crux,
            "line 2: column arrival time (sec): '-5.0': cannot be negative",
            id="crux-negative-arrival",
        ),
        pytest.param(
            POLLUX + "a,1,ncf,x,32\n",
            jobs.load_pollux,
            "line 2: column num_replicas: 'x': invalid literal for int() with base 10: 'x'",
            id="pollux-bad-replicas",
        ),
        pytest.param(
            ITP,
            jobs.load_itp,
            "no jobs with GPUs",
            id="no-rows",
        ),
        pytest.param(
            ITP + "a,1,1,0\n",
            jobs.load_itp,
            "no jobs with GPUs",
            id="only-zero-gpu-rows",
        ),
        pytest.param(
            POLLUX + "a,1,ncf,2,32\n",
            jobs.load_itp,
            "line 1: missing column(s) job_id, submission_time, duration, num_gpu "
            "(itp traces have job_id,submission_time,duration,num_gpu)",
            id="wrong-format",
        ),
    ],
)
def test_malformed_traces_name_file_line_and_column(
    write: Callable[[str], Path], text: str, loader: Loader, message: str
) -> None:
    path = write(text)
    with pytest.raises(csvrows.TraceError) as err:
        loader(path)
    assert str(err.value) == f"{path}: {message}"


def test_a_missing_file_is_a_trace_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(csvrows.TraceError) as err:
        jobs.load(path)
    assert str(err.value) == f"{path}: cannot read: No such file or directory"
