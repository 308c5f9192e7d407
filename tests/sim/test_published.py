"""The paper's numbers are read from the authors' results file, averaged over seeds."""

import re
from pathlib import Path

import pytest

from k8s4ai.backends.sim import published

HEADER = "workload,sc_policy,tune,seed,total_gpus,129,130\n"


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [("01-Random", "random"), ("03-GpuClustering", "gpuclustering"), ("06-FGD", "fgd")],
)
def test_policy_names(theirs: str, ours: str) -> None:
    assert published.policy_name(theirs) == ours


def test_mean_over_seeds(tmp_path: Path) -> None:
    path = tmp_path / "allo.csv"
    path.write_text(
        HEADER
        + "openb_pod_list_default,06-FGD,1.3,42,6212,95.0,95.5\n"
        + "openb_pod_list_default,06-FGD,1.3,43,6212,95.0,95.0\n"
        + "openb_pod_list_cpu050,01-Random,1.3,42,6212,90.0,91.0\n"
    )
    assert published.mean_allocation(path) == {
        ("openb_pod_list_default", "fgd"): 95.25,
        ("openb_pod_list_cpu050", "random"): 91.0,
    }
    assert published.mean_allocation(path, arrived=129)[("openb_pod_list_cpu050", "random")] == 90


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workload,seed,130\n", "line 1: missing column(s) sc_policy"),
        (HEADER + "w,06-FGD,1.3,42,6212,1,oops\n", "line 2: column 130: 'oops' is not a number"),
    ],
    ids=["missing-column", "bad-number"],
)
def test_malformed_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "allo.csv"
    path.write_text(text)
    with pytest.raises(published.PublishedError, match=re.escape(message)):
        published.mean_allocation(path)
