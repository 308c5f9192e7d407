"""traces.openb: node and pod lists as the openb CSVs give them, and errors that point at the
file, line and column of a malformed value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.traces import csvrows, openb

NODES = """\
sn,cpu_milli,memory_mib,gpu,model
openb-node-0001,96000,786432,8,V100M16
openb-node-0002,64000,262144,2,T4
openb-node-0003,32000,131072,0,
openb-node-0004,32000,131072,0,T4
"""

PODS = """\
name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase
openb-pod-0001,12000,16384,1,1000,,LS,Running
openb-pod-0002,8000,30000,1,460,,BE,Succeeded
openb-pod-0003,88000,327680,8,1000,V100M16|V100M32,LS,Running
openb-pod-0004,6000,12288,0,0,,BE,Running
openb-pod-0005,4000,8192,0,0,T4,BE,Running
openb-pod-0006,2000,4096,1,250,T4,LS,Pending
"""


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_nodes(tmp_path: Path) -> None:
    assert openb.load_nodes(write(tmp_path, NODES)) == [
        snapshot.NodeSpec("openb-node-0001", 96_000, 786_432, 8, "V100M16"),
        snapshot.NodeSpec("openb-node-0002", 64_000, 262_144, 2, "T4"),
        snapshot.NodeSpec("openb-node-0003", 32_000, 131_072, 0, ""),
        snapshot.NodeSpec("openb-node-0004", 32_000, 131_072, 0, ""),  # no GPU, no model
    ]


def test_load_pods(tmp_path: Path) -> None:
    assert openb.load_pods(write(tmp_path, PODS)) == [
        pods.PodRequest("openb-pod-0001", 12_000, 16_384, 1, 1000),
        pods.PodRequest("openb-pod-0002", 8000, 30_000, 1, 460),
        pods.PodRequest(
            "openb-pod-0003", 88_000, 327_680, 8, 1000, frozenset({"V100M16", "V100M32"})
        ),
        pods.PodRequest("openb-pod-0004", 6000, 12_288),
        pods.PodRequest("openb-pod-0005", 4000, 8192),  # a CPU-only pod keeps no model
        pods.PodRequest("openb-pod-0006", 2000, 4096, 1, 250, frozenset({"T4"})),
    ]


def test_pod_lists_without_gpu_spec_accept_any_model(tmp_path: Path) -> None:
    # The multi-GPU workloads have no gpu_spec column.
    text = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1000,10,2,1000\n"
    assert openb.load_pods(write(tmp_path, text)) == [pods.PodRequest("p", 1000, 10, 2, 1000)]


Loader = Callable[[Path], object]

NODE_HEADER = "sn,cpu_milli,memory_mib,gpu,model\n"
POD_HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"


@pytest.mark.parametrize(
    ("load", "text", "message"),
    [
        pytest.param(
            openb.load_nodes,
            "sn,cpu_milli,memory_mib,gpu\nn,1,1,0\n",
            "line 1: missing column(s) model (expected sn,cpu_milli,memory_mib,gpu,model)",
            id="node-missing-column",
        ),
        pytest.param(
            openb.load_pods,
            "name,cpu_milli,num_gpu\np,1,0\n",
            "line 1: missing column(s) memory_mib, gpu_milli "
            "(expected name,cpu_milli,memory_mib,num_gpu,gpu_milli)",
            id="pod-missing-columns",
        ),
        pytest.param(
            openb.load_nodes,
            "",
            "line 1: missing column(s) sn, cpu_milli, memory_mib, gpu, model "
            "(expected sn,cpu_milli,memory_mib,gpu,model)",
            id="empty-file",
        ),
        pytest.param(
            openb.load_nodes,
            NODE_HEADER + "n1,96000,1024,8,V100\nn2,96k,1024,8,V100\n",
            "line 3: column cpu_milli: '96k': invalid literal for int() with base 10: '96k'",
            id="node-non-integer",
        ),
        pytest.param(
            openb.load_nodes,
            NODE_HEADER + "n1,96000,1024,2.5,V100\n",
            "line 2: column gpu: '2.5': invalid literal for int() with base 10: '2.5'",
            id="node-fractional-gpu-count",
        ),
        pytest.param(
            openb.load_pods,
            POD_HEADER + "p1,1000,-5,0,0,\n",
            "line 2: column memory_mib: '-5': cannot be negative",
            id="pod-negative-memory",
        ),
        pytest.param(
            openb.load_pods,
            POD_HEADER + "p1,1.5,5,0,0,\n",
            "line 2: column cpu_milli: '1.5': invalid literal for int() with base 10: '1.5'",
            id="pod-non-integer-cpu",
        ),
        pytest.param(
            openb.load_pods,
            POD_HEADER + "p1,1000,5,0,0,\np2,1000,5,-1,1000,\n",
            "line 3: column num_gpu: '-1': cannot be negative",
            id="pod-negative-gpus",
        ),
        pytest.param(
            openb.load_pods,
            POD_HEADER + "p1,1000,5,1,,\n",
            "line 2: column gpu_milli: '': invalid literal for int() with base 10: ''",
            id="pod-empty-value",
        ),
        pytest.param(
            openb.load_nodes,
            NODE_HEADER + "n1,96000,1024,8,V100\nn2,96000,1024,4,\n",
            "line 3: column model: a node with GPUs needs a model",
            id="gpu-node-without-model",
        ),
        pytest.param(
            openb.load_nodes,
            NODE_HEADER + "n1,96000\n",
            "line 2: column gpu: None: the row has too few columns",
            id="short-row",
        ),
        pytest.param(openb.load_nodes, NODE_HEADER, "no nodes", id="no-nodes"),
        pytest.param(openb.load_pods, POD_HEADER, "no pods", id="no-pods"),
    ],
)
def test_malformed_files_name_file_line_and_column(
    tmp_path: Path, load: Loader, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(csvrows.TraceError) as err:
        load(path)
    assert str(err.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param(
            "p1,1000,5,4,500,",
            "column gpu_milli: a pod with 4 GPUs takes whole GPUs (1000)",
            id="multi-gpu-share",
        ),
        pytest.param(
            "p1,1000,5,1,0,",
            "column gpu_milli: must be 1..1000 for a GPU pod",
            id="gpu-pod-no-milli",
        ),
        pytest.param(
            "p1,1000,5,1,1500,",
            "column gpu_milli: must be 1..1000 for a GPU pod",
            id="more-than-a-gpu",
        ),
    ],
)
def test_inconsistent_gpu_requests_name_file_and_line(
    tmp_path: Path, row: str, message: str
) -> None:
    path = write(tmp_path, POD_HEADER + "ok,1,1,0,0,\n" + row + "\n")
    with pytest.raises(csvrows.TraceError) as err:
        openb.load_pods(path)
    assert str(err.value) == f"{path}: line 3: {message}"



def test_a_multi_gpu_share_names_the_gpu_milli_column(tmp_path: Path) -> None:
    path = write(tmp_path, POD_HEADER + "p1,1000,5,4,500,\n")
    with pytest.raises(csvrows.TraceError, match=r": line 2: column gpu_milli: "):
        openb.load_pods(path)



def test_empty_parts_of_gpu_spec_are_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, POD_HEADER + "p1,1000,5,1,500,T4||P100\n")
    assert openb.load_pods(path)[0].gpu_models == frozenset({"T4", "P100"})


def test_an_unreadable_file_is_a_trace_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(csvrows.TraceError) as err:
        openb.load_nodes(path)
    assert str(err.value) == f"{path}: cannot read: No such file or directory"
