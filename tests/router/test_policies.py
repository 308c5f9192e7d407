from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from k8s4ai.router import config, policies, prefix_index, replicas
from k8s4ai.router.policies import base, hashing, prefix

URLS = ("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3")


def pool(n: int = 3) -> list[replicas.Replica]:
    return [replicas.Replica(url, i) for i, url in enumerate(URLS[:n])]


def aware(cache_blocks: int | None = None, **kw: float) -> prefix.PrefixCacheAware:
    args: dict[str, float] = {
        "block_chars": 4,
        "index_blocks": 100,
        "cache_threshold": 0.5,
        "balance_abs_threshold": 4,
        "balance_rel_threshold": 1.5,
        **kw,
    }
    return prefix.PrefixCacheAware(
        int(args["block_chars"]),
        int(args["index_blocks"]),
        args["cache_threshold"],
        int(args["balance_abs_threshold"]),
        args["balance_rel_threshold"],
        cache_blocks,
    )


def test_round_robin_takes_turns() -> None:
    rs = pool()
    policy = policies.build(
        config.RouterConfig(URLS, policy="round-robin"), np.random.default_rng(0)
    )
    picks = [policy.choose(base.Routed("m", "x"), rs).replica.index for _ in range(6)]
    assert picks == [0, 1, 2, 0, 1, 2]


def test_least_load_picks_fewest_in_flight() -> None:
    rs = pool()
    rs[0].outstanding, rs[1].outstanding, rs[2].outstanding = 3, 1, 2
    policy = policies.build(
        config.RouterConfig(URLS, policy="least-load"), np.random.default_rng(0)
    )
    assert policy.choose(base.Routed("m", "x"), rs).replica.index == 1


def test_consistent_hash_keeps_sessions_and_moves_only_the_lost_replicas() -> None:
    policy = hashing.ConsistentHash(block_chars=8)
    rs = pool()
    sessions = [f"user-{i}" for i in range(300)]
    before = {s: policy.choose(base.Routed("m", "", s), rs).replica.url for s in sessions}
    again = {s: policy.choose(base.Routed("m", "", s), rs).replica.url for s in sessions}
    assert before == again
    assert min(Counter(before.values()).values()) > 60, "sessions spread over all replicas"
    after = {s: policy.choose(base.Routed("m", "", s), rs[:2]).replica.url for s in sessions}
    moved = [s for s in sessions if before[s] != after[s]]
    assert moved and all(before[s] == URLS[2] for s in moved)


def test_prefix_policy_follows_the_replica_that_served_the_prefix() -> None:
    policy, rs = aware(), pool()
    first = policy.choose(base.Routed("m", "sys:conversation-one"), rs)
    follow = policy.choose(base.Routed("m", "sys:conversation-one + turn two"), rs)
    assert follow.replica is first.replica and follow.reason == "prefix"
    assert follow.matched_blocks == len("sys:conversation-one") // 4


def test_prefix_policy_sends_new_prompts_where_there_is_most_room() -> None:
    policy, rs = aware(), pool()
    a = policy.choose(base.Routed("m", "aaaaaaaaaaaa"), rs).replica
    b = policy.choose(base.Routed("m", "bbbbbbbbbbbb"), rs).replica
    c = policy.choose(base.Routed("m", "cccccccccccc"), rs).replica
    assert {a.index, b.index, c.index} == {0, 1, 2}


def test_prefix_policy_yields_to_load_when_imbalanced() -> None:
    policy, rs = aware(), pool(2)
    home = policy.choose(base.Routed("m", "shared-prefix-text"), rs).replica
    home.outstanding = 10
    choice = policy.choose(base.Routed("m", "shared-prefix-text more"), rs)
    assert choice.replica is not home and choice.reason == "balance"


def test_forget_drops_a_replicas_believed_cache() -> None:
    policy, rs = aware(), pool(2)
    home = policy.choose(base.Routed("m", "abcdabcdabcd"), rs).replica
    keys = prefix_index.block_keys("abcdabcdabcd", 4)
    assert policy.index(home).matched(keys) == 3
    policy.forget(home)
    assert policy.index(home).matched(keys) == 0


def test_unknown_policy_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="round-robin"):
        policies.build(config.RouterConfig(URLS, policy="fastest"), np.random.default_rng(0))


def test_a_conversation_keeps_its_replica_after_the_cache_forgets_it() -> None:
    policy, rs = aware(cache_blocks=4), pool(2)
    home = policy.choose(base.Routed("m", "conversation-one"), rs).replica
    for i in range(6):
        policy.choose(base.Routed("m", f"other-{i:02d}-prompt-text"), [home])
    assert policy.cached(home).matched(prefix_index.block_keys("conversation-one", 4)) == 0
    follow = policy.choose(base.Routed("m", "conversation-one and more"), rs)
    assert follow.replica is home and follow.reason == "affinity"
    assert follow.matched_blocks == 0, "the router does not believe it is cached any more"


def test_consistent_hash_spreads_conversations_that_share_a_system_prompt() -> None:
    policy, rs = hashing.ConsistentHash(block_chars=8), pool()
    system = "system: "
    picks = {
        policy.choose(base.Routed("m", system + f"conversation {i} ..."), rs).replica.url
        for i in range(30)
    }
    assert len(picks) == 3
