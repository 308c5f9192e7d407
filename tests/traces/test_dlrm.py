"""The DLRM trace loader on small CSVs written here: values, windows of time, and errors that
name the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8s4ai.traces import csvrows, dlrm

HEADER = (
    "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,"
    "rdma_limit,memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,"
    "creation_time,scheduled_time,deletion_time\n"
)


def row(
    name: str = "instance_0",
    role: str = "HN",
    app: str = "app_0",
    gpu: str = "1",
    memory: str = "40.0",
    created: str = "",
    deleted: str = "",
) -> str:
    requests = f"12,12,{gpu},{gpu},25,25,{memory},{memory},640,800,8"
    return f"{name},{role},{app},{requests},{created},,{deleted}\n"


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    return tmp_path / "disaggregated_DLRM_trace.csv"


def test_gpu_instances_with_their_lifetimes(trace: Path) -> None:
    trace.write_text(
        HEADER
        + row("instance_0")
        + row("instance_1", role="CN", gpu="0", memory="320.0", created="5", deleted="9")
        + row("instance_2", app="app_7", memory="16.0", created="3973.5", deleted="5227")
        + row("instance_3", created="NaN", deleted="100")
    )
    assert dlrm.load(trace) == [
        dlrm.Instance("instance_0", "HN", "app_0", 12.0, 1, 40.0, None, None),
        dlrm.Instance("instance_2", "HN", "app_7", 12.0, 1, 16.0, 3973.5, 5227.0),
        dlrm.Instance("instance_3", "HN", "app_0", 12.0, 1, 40.0, None, 100.0),
    ]
    both = dlrm.load(trace, roles=("HN", "CN"))
    assert [i.role for i in both] == ["HN", "CN", "HN", "HN"]
    assert dlrm.horizon(both) == 5227.0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row(role="GN"), "line 3: column role: 'GN': must be one of CN, HN"),
        (row(gpu="1.5"), "line 3: column gpu_request: '1.5': must be a whole number"),
        (row(memory="-4"), "line 3: column memory_request: '-4': must be a finite number ≥ 0"),
        (row(created="soon"), "line 3: column creation_time: 'soon'"),
        (row(app=" "), "line 3: column app_name: ' ': must not be empty"),
        (row(created="50", deleted="10"), "line 3: column deletion_time: 10.0 is before the"),
    ],
    ids=["role", "gpus", "memory", "time", "app", "order"],
)
def test_errors_name_file_line_and_column(trace: Path, bad: str, message: str) -> None:
    trace.write_text(HEADER + row() + bad)
    with pytest.raises(csvrows.TraceError, match=f"^{trace}: ") as err:
        dlrm.load(trace)
    assert message in str(err.value)


def test_missing_columns_and_empty_traces(trace: Path) -> None:
    trace.write_text("instance_sn,role\ninstance_0,HN\n")
    with pytest.raises(csvrows.TraceError, match="line 1: missing column"):
        dlrm.load(trace)
    trace.write_text(HEADER + row(role="CN", gpu="0"))
    with pytest.raises(csvrows.TraceError, match="no instances with role HN"):
        dlrm.load(trace)
    with pytest.raises(csvrows.TraceError, match="cannot read"):
        dlrm.load(trace.parent / "absent.csv")
