"""Shards: N disjoint parts whose union is exactly the matrix, balanced, the same on every machine; and the
--shard flag's parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.errors import BadInput
from orchestrator.ops.matrix import shards
from orchestrator.ops.matrix.model import Scenario


def scenarios(skips: list[bool]) -> list[Scenario]:
    return [Scenario(f"s{k}", {}, "by design" if skip else None, (), f"m.yml:{k}") for k, skip in enumerate(skips)]


@given(st.lists(st.booleans(), max_size=40), st.integers(min_value=1, max_value=60))
def test_shards_partition_the_matrix_and_are_balanced(skips, n):
    matrix = scenarios(skips)  # n may well exceed the number of scenarios: some shards are then empty
    parts = [shards.shard(matrix, i, n) for i in range(1, n + 1)]
    names = [s.name for part in parts for s in part]
    assert sorted(names) == sorted(s.name for s in matrix)  # union is the matrix ...
    assert len(names) == len(set(names))  # ... and the shards are disjoint
    runnable = [sum(s.runnable for s in part) for part in parts]
    assert max(runnable) - min(runnable) <= 1
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    for part in parts:  # each keeps the matrix's order
        assert [s.name for s in part] == [s.name for s in matrix if s in part]
    assert parts == [shards.shard(matrix, i, n) for i in range(1, n + 1)]  # deterministic


def test_assignment_is_fixed_round_robin_not_hashing():
    matrix = scenarios([False, False, True, False, False])
    # runnable s0 s1 s3 s4 are dealt 1 2 1 2; the skipped s2 is dealt on from there (shard 1)
    assert [s.name for s in shards.shard(matrix, 1, 2)] == ["s0", "s2", "s3"]
    assert [s.name for s in shards.shard(matrix, 2, 2)] == ["s1", "s4"]


def test_shard_k_of_the_runnable_count_runs_exactly_the_kth_runnable_scenario():
    matrix = scenarios([False, True, False, False])
    for k, s in enumerate([s for s in matrix if s.runnable], 1):
        assert [x.name for x in shards.shard(matrix, k, 3) if x.runnable] == [s.name]


@pytest.mark.parametrize(("text", "want"), [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3))])
def test_parse_shard(text, want):
    assert shards.parse_shard(text) == want


@pytest.mark.parametrize("text", ["3/2", "0/2", "1/0", "0/0", "x", "1/", "/2", "-1/2", "1.5/2", "1/2/3", ""])
def test_a_bad_shard_is_bad_input_naming_flag_and_value(text):
    with pytest.raises(BadInput) as err:
        shards.parse_shard(text)
    assert "--shard" in str(err.value) and repr(text) in str(err.value)


def test_select_by_name_intersects_with_the_shard_and_names_unknown_ones():
    matrix = scenarios([False] * 4)
    assert [s.name for s in shards.select(matrix, ["s3", "s0"], None)] == ["s0", "s3"]
    assert [s.name for s in shards.select(matrix, ["s0", "s1"], (2, 2))] == ["s1"]
    with pytest.raises(BadInput) as err:
        shards.select(matrix, ["s1", "nope", "zz"], None)
    assert "'nope', 'zz'" in str(err.value) and "scenarios: s0, s1, s2, s3" in str(err.value)
