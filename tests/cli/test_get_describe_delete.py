from .conftest import EXAMPLES, Invoke


def test_get_table_has_printer_columns(k8s4ai: Invoke) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    out = k8s4ai("get", "gangs", "-n", "team-a").stdout.splitlines()
    assert out[0].split() == ["NAME", "QUEUE", "PODS", "GPUS/POD", "PRIORITY", "PHASE", "AGE"]
    assert out[1].split()[:6] == ["llama-70b-sft", "team-a", "2", "8", "100", "Pending"]


def test_get_with_label_selector(k8s4ai: Invoke) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    out = k8s4ai("get", "gangs", "-A", "-l", "team=team-b,project!=eval", "-o", "name")
    assert out.stdout.split() == ["gangschedulinggroup/embed-batch"]


def test_get_unknown_kind_lists_the_known_ones(k8s4ai: Invoke) -> None:
    result = k8s4ai("get", "pods")
    assert result.exit_code == 1
    assert "unknown kind 'pods'; known kinds: acceleratorclasses" in result.stderr


def test_get_missing_object_fails(k8s4ai: Invoke) -> None:
    result = k8s4ai("get", "queue", "nope")
    assert result.exit_code == 1 and "not found" in result.stderr


def test_describe_shows_spec_status_and_conditions(k8s4ai: Invoke) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    out = k8s4ai("describe", "gang", "llama-70b-sft", "-n", "team-a").stdout
    for expected in ("Name:              llama-70b-sft", "Namespace:         team-a",
                     "required: rack", "phase: Pending", "Events:"):
        assert expected in out


def test_delete_by_name_and_by_file(k8s4ai: Invoke) -> None:
    k8s4ai("apply", "-f", str(EXAMPLES))
    deleted = k8s4ai("delete", "gang", "notebook-eval", "-n", "team-b")
    assert deleted.stdout.strip() == "gangschedulinggroup/notebook-eval deleted"
    again = k8s4ai("delete", "gang", "notebook-eval", "-n", "team-b")
    assert again.exit_code == 1 and "not found" in again.stderr
    by_file = k8s4ai("delete", "-f", str(EXAMPLES / "08-inference.yaml"))
    assert by_file.stdout.split("\n")[:2] == [
        "contentrouter/chat-router deleted", "inferenceservice/llama-8b-chat deleted"]


def test_crds_prints_one_definition_per_kind(k8s4ai: Invoke) -> None:
    out = k8s4ai("crds").stdout
    assert out.count("kind: CustomResourceDefinition") == 11
