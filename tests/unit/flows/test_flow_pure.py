"""invoke flow's pure parts: the JSON path evaluator, exact nearest-rank percentiles (against a hand-computed
sample), route templates, known-gap / strict / fixed outcomes, Retry-After, the secrets file."""

from __future__ import annotations

import os

import pytest

from orchestrator import redact
from orchestrator.errors import BadInput
from orchestrator.ops import secretfiles
from orchestrator.ops.flows import jsonpath, outcomes, secrets, stats
from orchestrator.ops.flows.http import retry_after
from tests.unit.helpers import write

DOC = {"items": [{"id": "off_1", "tags": ["a", "b"]}, {"id": "off_2"}], "user": {"id": "usr_9", "e-mail": "x"}}


@pytest.mark.parametrize(("path", "value"), [
    ("$", DOC), ("$.items[0].id", "off_1"), ("$.items[-1].id", "off_2"), ("$.items[0].tags[1]", "b"),
    ("$.user.id", "usr_9"), ("$['user']['e-mail']", "x"), ('$.user["id"]', "usr_9"), ("$.items", DOC["items"]),
])
def test_json_path_finds_the_value(path, value):
    assert jsonpath.evaluate(path, DOC) == value


@pytest.mark.parametrize(("path", "where"), [
    ("$.items[2].id", "$.items has no item [2]"), ("$.user.name", "$.user has no key 'name'"),
    ("$.items.id", "$.items has no key 'id'"), ("$.user[0]", "$.user has no item [0]"),
])
def test_json_path_says_where_the_walk_stopped(path, where):
    with pytest.raises(jsonpath.Missing, match=__import__("re").escape(where)):
        jsonpath.evaluate(path, DOC)


@pytest.mark.parametrize("path", ["items[0]", "$.items[*]", "$..id", "$.items[?(@.id)]", "$.", "$[abc]", 5])
def test_unsupported_json_paths_are_refused(path):
    with pytest.raises(jsonpath.PathError):
        jsonpath.parse(path)


def test_nearest_rank_percentiles_of_a_hand_computed_sample():
    # 20 samples 1..20 ms, shuffled: p50 = rank ceil(0.50*20)=10 -> 10; p95 = rank 19 -> 19; p99 = rank 20 -> 20.
    samples = [7, 3, 20, 1, 15, 9, 12, 4, 18, 6, 2, 11, 19, 8, 14, 5, 17, 10, 16, 13]
    assert stats.summary(samples) == {"p50": 10, "p95": 19, "p99": 20, "max": 20, "count": 20}
    # 7 samples: p50 rank ceil(3.5)=4 -> 40; p95 rank ceil(6.65)=7 -> 70; p99 rank 7 -> 70 (never above max).
    assert stats.summary([70, 10, 30, 20, 60, 40, 50]) == {"p50": 40, "p95": 70, "p99": 70, "max": 70, "count": 7}
    assert stats.summary([5.5]) == {"p50": 5.5, "p95": 5.5, "p99": 5.5, "max": 5.5, "count": 1}
    assert stats.summary([])["count"] == 0


def test_percentiles_are_measured_samples_at_exact_ranks_for_100_samples():
    samples = list(range(100, 0, -1))  # 1..100
    assert [stats.nearest_rank(sorted(samples), p) for p in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert stats.nearest_rank([1.0, 2.0, 3.0, 4.0], 50) == 2.0  # rank ceil(2.0) = 2, no interpolation (2.5)


@pytest.mark.parametrize(("method", "path", "route"), [
    ("post", "/api/requests/{{ request_id }}/offers", "POST /api/requests/{request_id}/offers"),
    ("GET", "/api/legacy/payments?offerId={{ offer_id }}", "GET /api/legacy/payments"),
    ("GET", "/api/x/{{seller1.id}}/y/{{ offer_id | lower }}", "GET /api/x/{seller1.id}/y/{offer_id}"),
    ("GET", "/api/notifications", "GET /api/notifications"),
])
def test_route_templates_are_the_path_before_rendering(method, path, route):
    assert stats.route(method, path) == route


@pytest.mark.parametrize(("found", "gap", "strict", "outcome", "status", "fails"), [
    (True, False, False, "found", "ok", False),
    (False, False, False, "missing", "failed", True),
    (False, True, False, "known_gap", "skipped", False),
    (False, True, True, "known_gap", "failed", True),
    (True, True, False, "fixed", "ok", False),
    (True, True, True, "fixed", "ok", False),
])
def test_known_gap_strict_and_fixed(found, gap, strict, outcome, status, fails):
    what = outcomes.outcome(found, gap)
    assert (what, outcomes.status(what, strict), outcomes.fails(what, strict)) == (outcome, status, fails)


def test_retry_after_seconds_dates_and_garbage():
    assert retry_after("3") == 3.0
    assert retry_after("0") == 0.05
    assert retry_after(None) == 1.0 and retry_after("soon") == 1.0
    assert 9 <= retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) <= 11


def test_secrets_file_must_be_0600_naming_file_and_mode(tmp_path):
    path = write(tmp_path / "admin.env", "ADMIN_EMAIL=a@b.c\nADMIN_PASSWORD=s3cr3t-value\n")
    os.chmod(path, 0o644)
    with pytest.raises(BadInput, match=r"admin.env is mode 0644.*chmod 600"):
        secrets.load(path, None, ["ADMIN_PASSWORD"], "inv.yml:3")
    os.chmod(path, 0o600)
    assert secrets.load(path, None, ["ADMIN_PASSWORD"], "inv.yml:3") == {"ADMIN_PASSWORD": "s3cr3t-value"}
    assert "s3cr3t-value" not in redact.current().text("pw s3cr3t-value")


def test_secrets_from_the_environment_and_missing_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOW_T_PW", "from-the-env-123")
    assert secrets.load(None, ["FLOW_T_PW"], ["FLOW_T_PW"], "inv") == {"FLOW_T_PW": "from-the-env-123"}
    with pytest.raises(BadInput, match=r"needs the secret.*ADMIN_EMAIL.*never on the command line"):
        secrets.load(None, [], ["ADMIN_EMAIL"], "inv")


def test_secret_file_lines(tmp_path):
    # A flow's secrets file is read as the stack's secret files are: one parser for KEY=value files.
    path = write(tmp_path / "flow.env", "# c\n\nexport A='x y'\nB=\"q\"\nC=1=2\nnoise\n")
    path.chmod(0o600)
    assert secrets.read_file(path, "inv") == {"A": "x y", "B": "q", "C": "1=2"}
    assert secretfiles.parse("# c\n\nexport A='x y'\nB=\"q\"\nC=1=2\nnoise\n") == {"A": "x y", "B": "q", "C": "1=2"}
