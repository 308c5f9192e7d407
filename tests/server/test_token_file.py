"""The token file: `token,role[,user]` lines, and generated files only their owner reads."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from k8s4ai.server import auth


def test_parse_token_file() -> None:
    text = "# comment\n\nabc,read,alice\n def , write \n"
    assert auth.parse_token_file(text) == {"abc": "read", "def": "write"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("abc\n", "expected `token,role", id="no-role"),
        pytest.param("abc,admin\n", "role 'admin'", id="unknown-role"),
        pytest.param("abc,read\nabc,write\n", "listed twice", id="duplicate"),
        pytest.param(",read\n", "expected", id="empty-token"),
    ],
)
def test_bad_token_files_name_the_line(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        auth.parse_token_file(text, "tokens.csv")
    assert "tokens.csv:" in str(caught.value)


def test_generated_token_file_is_private_and_loadable(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "tokens.csv"
    generated = auth.generate_token_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert generated.read != generated.write
    assert len(generated.read) >= 32
    assert auth.load_token_file(path) == {generated.read: "read", generated.write: "write"}


def test_regenerating_replaces_the_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    first = auth.generate_token_file(path)
    second = auth.generate_token_file(path)
    assert first.write not in auth.load_token_file(path)
    assert second.write in auth.load_token_file(path)
