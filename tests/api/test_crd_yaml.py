"""`crds_yaml()` is a stable multi-document stream that `kubectl apply -f -` reads back as the
same CRDs."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from k8s4ai.api import crd, registry


def test_stream_parses_back_to_the_same_crds() -> None:
    assert list(yaml.safe_load_all(crd.crds_yaml())) == crd.all_crds()


def test_one_document_per_kind_in_registry_order() -> None:
    text = crd.crds_yaml()
    documents = list(yaml.safe_load_all(text))
    assert [d["metadata"]["name"] for d in documents] == [
        f"{kind.plural}.k8s4ai.io" for kind in registry.KINDS
    ]
    assert text.startswith("---\n")
    assert text.count("\n---\n") == len(registry.KINDS) - 1


def test_stream_is_the_same_in_every_process() -> None:
    """Nothing depends on hash order, so regenerating the CRDs gives a clean diff."""
    script = "from k8s4ai.api import crd; print(crd.crds_yaml(), end='')"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {crd.crds_yaml()}


def test_crd_names_are_unique() -> None:
    names = [d["metadata"]["name"] for d in crd.all_crds()]
    assert len(names) == len(set(names))
