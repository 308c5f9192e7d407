import textwrap

import pytest
import yaml

from k8s4ai import api, testing
from k8s4ai.api import manifest


def load(*docs: str, source: str = "jobs.yaml") -> list[manifest.Manifest]:
    return manifest.load([(source, textwrap.dedent("---\n".join(docs)))])


def errors_of(*docs: str) -> list[str]:
    with pytest.raises(manifest.ManifestError) as info:
        load(*docs)
    return str(info.value).splitlines()


QUEUE = yaml.safe_dump(testing.queue("team-a"))
CLASS = yaml.safe_dump(testing.accelerator_class("h100"))


def test_valid_documents_load_in_order_with_their_position() -> None:
    loaded = load(CLASS, QUEUE, yaml.safe_dump(testing.gang("train").gpus(8).build()))
    assert [m.object.kind for m in loaded] == ["AcceleratorClass", "Queue", "GangSchedulingGroup"]
    assert [m.document.index for m in loaded] == [1, 2, 3]
    assert loaded[2].object.metadata.namespace == "default"


def test_invalid_yaml_names_file_document_and_line() -> None:
    assert errors_of(CLASS, "kind: Queue\nmetadata: {name: [unclosed\n") == [
        "jobs.yaml: document 2 (line 12, column 1): invalid YAML: "
        "expected ',' or ']', but got '<stream end>'"
    ]


def test_wrong_type_missing_and_unknown_fields_one_line_each() -> None:
    bad = testing.gang("train").gpus(8).build()
    bad["spec"]["podSets"][0]["count"] = "two"
    bad["spec"]["podSets"][0]["replicas"] = 3
    del bad["spec"]["queue"]
    lines = errors_of(CLASS, QUEUE, yaml.safe_dump(bad, sort_keys=False))
    where = "jobs.yaml: document 3 (line 20)"
    assert lines == [
        f"{where}: spec.queue: required field is missing",
        f"{where}: spec.podSets[0].count: Input should be a valid integer, unable to parse "
        "string as an integer",
        f"{where}: spec.podSets[0].replicas: unknown field",
    ]


def test_bad_cross_object_reference_is_reported() -> None:
    job = testing.gang("train").mig("9g.90gb").build()
    lines = errors_of(CLASS, QUEUE, yaml.safe_dump(job))
    assert lines == [
        "jobs.yaml: document 3 (line 20): spec.podSets[0].resources.migProfile: AcceleratorClass "
        "'h100' has no MIG profile '9g.90gb' (it offers: none)"
    ]


def test_problems_from_every_document_are_reported_together() -> None:
    lines = errors_of("apiVersion: v1\nkind: Queue\nmetadata: {name: a}\nspec: {}\n",
                      "apiVersion: k8s4ai.io/v1alpha1\nkind: Pod\n", "- a list\n")
    assert lines == [
        "jobs.yaml: document 1 (line 1): apiVersion: 'v1' is not served; use k8s4ai.io/v1alpha1",
        "jobs.yaml: document 2 (line 6): kind: unknown kind 'Pod'; known: AcceleratorClass, "
        "TopologyDomain, Node, Queue, Budget, VRAMPool, CheckpointPolicy, GangSchedulingGroup, "
        "InferenceService, ContentRouter, Event",
        "jobs.yaml: document 3 (line 9): expected an object with apiVersion and kind, got list",
    ]


def test_duplicate_keys_are_errors_not_silently_merged() -> None:
    lines = errors_of("kind: Queue\nkind: Node\n")
    assert lines == ["jobs.yaml: document 1 (line 2, column 1): invalid YAML: duplicate key 'kind'"]


def test_the_same_object_twice_in_a_batch_is_an_error() -> None:
    lines = errors_of(CLASS, QUEUE, QUEUE)
    assert lines == [
        "jobs.yaml: document 3 (line 20): metadata.name: Queue 'team-a' is also defined at "
        "jobs.yaml: document 2 (line 10)"
    ]


def test_cluster_scoped_kinds_take_no_namespace() -> None:
    queue = testing.queue("team-a")
    queue["metadata"]["namespace"] = "x"
    assert errors_of(yaml.safe_dump(queue)) == [
        "jobs.yaml: document 1 (line 1): metadata.namespace: Queue is cluster-scoped; remove it"
    ]


def test_list_documents_are_expanded_as_kubectl_does() -> None:
    as_list = {"apiVersion": "v1", "kind": "List",
               "items": [testing.accelerator_class("h100"), testing.queue("team-a")]}
    loaded = load(yaml.safe_dump(as_list))
    assert [(m.object.kind, m.document.item) for m in loaded] == [
        ("AcceleratorClass", 0), ("Queue", 1)]
    assert isinstance(loaded[1].object, api.Queue)


def test_empty_documents_are_skipped() -> None:
    loaded = load("", "# only a comment\n", CLASS, "", QUEUE)
    assert [(m.object.kind, m.document.index) for m in loaded] == [
        ("AcceleratorClass", 2), ("Queue", 4)]
