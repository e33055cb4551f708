"""The symptom -> cause table is data: the shipped rules load, evaluate over facts, and bad rules are bad
input naming the file and line."""

from __future__ import annotations

import pytest

from orchestrator.errors import BadInput
from orchestrator.ops.triage import gather, rules
from tests.unit.helpers import write

FACTS = {
    "containers": [
        {"name": "sample_backend_1", "service": "backend", "state": "running", "health": "unhealthy",
         "last_check": "forced unhealthy", "restarts": 0, "exit_code": 0},
        {"name": "sample_scanner_1", "service": "scanner", "state": "exited", "health": "none",
         "last_check": "", "restarts": 7, "exit_code": 137},
    ],
    "missing_services": ["frontend"],
    "disks": [{"path": "/", "used_percent": 97, "free_gib": 1.2, "total_gib": 40, "top": ["30.1G /var"]}],
    "versions": {"stack VERSION": "1.4.2", "http://127.0.0.1:18081/version.json": "1.5.2"},
    "stuck_prunes": ["pid 42 (prune, running 2h00m): docker image prune -af"],
    "lease_problem": "",
    "disk_max_used_percent": 90,
}


def test_the_shipped_rules_find_each_known_symptom():
    found = {(f.symptom, f.cause) for f in rules.evaluate(rules.load(), FACTS)}
    symptoms = {s for s, _ in found}
    assert symptoms == {"container unhealthy", "container not running", "crash loop", "service missing",
                        "disk nearly full", "version mismatch", "stuck prune"}
    assert ("container unhealthy",
            "sample_backend_1 fails its health check; last check said: forced unhealthy") in found
    assert any("30.1G /var" in cause for s, cause in found if s == "disk nearly full")
    assert any("1.4.2" in cause and "1.5.2" in cause for s, cause in found if s == "version mismatch")


def test_a_healthy_host_has_no_findings():
    healthy = {**FACTS, "containers": [{**FACTS["containers"][0], "health": "healthy"}], "missing_services": [],
               "disks": [{**FACTS["disks"][0], "used_percent": 40}], "versions": {"a": "1.4.2", "b": "1.4.2"},
               "stuck_prunes": []}
    assert rules.evaluate(rules.load(), healthy) == []


def test_a_misspelt_rule_key_is_bad_input_with_the_line(tmp_path):
    path = write(tmp_path / "rules.yml", """\
        - symptom: x
          when: true
          cause: y
        - symptom: z
          wehn: true
          cause: y
        """)
    with pytest.raises(BadInput, match=r"rules.yml:5: unknown rule key 'wehn'.*when"):
        rules.load(path)


def test_a_rule_that_cannot_be_evaluated_is_reported_not_skipped(tmp_path):
    path = write(tmp_path / "rules.yml", "- {symptom: odd, when: no_such_fact > 1, cause: x}\n")
    (finding,) = rules.evaluate(rules.load(path), {})
    assert finding.symptom == "odd" and "could not be evaluated" in finding.cause


def test_docker_inspect_keeps_env_keys_but_no_values():
    text = '[{"Name": "/c", "Config": {"Env": ["TOKEN=abc", "PORT=1"], "Labels": {}}, "State": {}}]'
    out = gather.inspect_without_env(text)
    assert "TOKEN=[REDACTED]" in out and "PORT=[REDACTED]" in out and "abc" not in out
