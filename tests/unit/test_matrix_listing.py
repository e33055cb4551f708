"""--list's one JSON shape (checked against list.schema.json) and its ready-made CI include list."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from orchestrator.ops.matrix import listing, model, shards

VALID = Path(__file__).resolve().parent / "matrix" / "valid.yml"


@pytest.fixture(scope="module")
def matrix() -> model.Matrix:
    return model.load(VALID)


def test_the_whole_listing(matrix):
    data = listing.listing(matrix)
    jsonschema.validate(data, listing.schema())
    assert list(data) == ["matrix", "sha256", "scenarios", "coverage", "include"]
    assert data["matrix"] == matrix.path and data["sha256"] == matrix.sha256
    assert [s["name"] for s in data["scenarios"]] == [s.name for s in matrix.scenarios]
    assert data["scenarios"][3] == {"name": "scanner-on-gpu", "values": {"scanner": "on"}, "skip": None,
                                    "requires": [{"kind": "path", "what": "/dev/nvidia0"}]}
    assert data["scenarios"][4]["skip"] == "runs on the arm64 CI agent only"
    assert data["coverage"] == model.coverage(matrix)
    # one CI job per runnable scenario; --shard k/K runs exactly that one
    assert data["include"] == [{"scenario": "baseline", "shard": "1/4"},
                               {"scenario": "readonly-without-scanner", "shard": "2/4"},
                               {"scenario": "small-pool-insecure", "shard": "3/4"},
                               {"scenario": "scanner-on-gpu", "shard": "4/4"}]
    for entry in data["include"]:
        ran = [s.name for s in shards.shard(matrix.scenarios, *shards.parse_shard(entry["shard"])) if s.runnable]
        assert ran == [entry["scenario"]]


def test_a_shard_lists_its_scenarios_and_the_whole_coverage(matrix):
    parts = [listing.listing(matrix, (i, 2)) for i in (1, 2)]
    for part in parts:
        jsonschema.validate(part, listing.schema())
        assert part["coverage"] == model.coverage(matrix)
    assert [s["name"] for s in parts[0]["scenarios"]] == ["baseline", "small-pool-insecure", "arm64-agent-only"]
    assert parts[0]["include"] == [{"scenario": "baseline", "shard": "1/2"},
                                   {"scenario": "small-pool-insecure", "shard": "1/2"}]
    assert [s["name"] for s in parts[1]["scenarios"]] == ["readonly-without-scanner", "scanner-on-gpu"]


def test_selected_names_keep_their_whole_matrix_shard(matrix):
    data = listing.listing(matrix, None, ["small-pool-insecure", "arm64-agent-only"])
    assert [s["name"] for s in data["scenarios"]] == ["small-pool-insecure", "arm64-agent-only"]
    assert data["include"] == [{"scenario": "small-pool-insecure", "shard": "3/4"}]


def test_the_schema_has_teeth(matrix):
    data = listing.listing(matrix)
    data["scenarios"][0]["values"]["pool"] = 16  # values are strings
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, listing.schema())
