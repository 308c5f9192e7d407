from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from k8s4ai.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

Invoke = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("K8S4AI_HOME", str(tmp_path))
    monkeypatch.delenv("K8S4AI_DB", raising=False)
    monkeypatch.delenv("K8S4AI_SERVER", raising=False)
    yield tmp_path


@pytest.fixture
def k8s4ai(home: Path) -> Invoke:
    """Run the CLI in-process against an embedded store in a fresh home."""

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main.cli, list(args), input=input, catch_exceptions=False)

    return invoke
