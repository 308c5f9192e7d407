"""How the mock replica turns text into tokens, and tokens into prefix-cache blocks.

A token is a run of bytes between ASCII whitespace (`bytes.split`): deterministic in every
process, cheap to find, and easy for a client to aim at (the Mooncake replay client writes
exactly `input_length` words, `BLOCK_TOKENS` per trace block). Token ids are the CRC-32 of
the word, so two replicas give the same ids without a vocabulary. A prompt given as token
ids is the words of those ids.

Blocks are `BLOCK_TOKENS` tokens. A block's hash chains its parent's hash, as vLLM's
automatic prefix caching does, so block *i* of two prompts has the same hash only when their
first *i + 1* blocks are equal: a block is a hit only with its whole prefix. A trailing
partial block gets no hash (vLLM caches full blocks only).

Routers that load a Hugging Face tokenizer for the model a replica reports (sglang-router
does, from the hub when the path is not a local folder) can be given `write_tokenizer`'s
folder instead: it splits on whitespace like the replica (with a one-word vocabulary, so
every id is 0), and keeps them off the network.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

BLOCK_TOKENS = 512
"""Tokens per block: the block size of the Mooncake traces' `hash_ids`."""

_DIGEST_BYTES = 16


def split(text: str) -> list[bytes]:
    return text.encode().split()


def from_ids(ids: Sequence[int]) -> list[bytes]:
    return [str(i).encode() for i in ids]


def ids(tokens: Sequence[bytes]) -> list[int]:
    return list(map(zlib.crc32, tokens))


def block_hashes(tokens: Sequence[bytes], block_tokens: int = BLOCK_TOKENS) -> list[bytes]:
    """One chained hash per full block of `tokens`."""
    if block_tokens < 1:
        raise ValueError(f"a block holds at least one token, not {block_tokens}")
    hashes: list[bytes] = []
    parent = b""
    for start in range(0, len(tokens) - block_tokens + 1, block_tokens):
        digest = hashlib.blake2b(parent, digest_size=_DIGEST_BYTES)
        digest.update(b" ".join(tokens[start : start + block_tokens]))
        parent = digest.digest()
        hashes.append(parent)
    return hashes


_TOKENIZER = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [
        {
            "id": 0,
            "content": "[UNK]",
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
    ],
    "normalizer": None,
    "pre_tokenizer": {"type": "WhitespaceSplit"},
    "post_processor": None,
    "decoder": None,
    "model": {"type": "WordLevel", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"},
}


def write_tokenizer(folder: Path) -> Path:
    """Write a Hugging Face `tokenizer.json` that splits like `split` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(_TOKENIZER), encoding="utf-8")
    return folder
