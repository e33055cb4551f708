"""`invoke check` against the real lab: real sshd, real Docker Engine, real compose stack."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from orchestrator.lab import spec
from tests.integration.labkit import ROOT, container_of, docker, health, invoke
from tests.waiting import wait_for

pytestmark = pytest.mark.lab
EXPECTED_OK = {"reachable", "docker engine", "containers: backend", "containers: frontend", "containers: scanner",
               "stack VERSION", "http: backend /api/version", "http: frontend /"}


def statuses(result, host: str) -> dict[str, str]:
    return {name: c["status"] for name, c in result.checks(host).items()}


def test_check_passes_on_the_healthy_stack(healthy_stack):
    result = invoke("check", "--host", "dev", "--json")
    assert result.rc == 0, result.stderr
    report = result.json()
    assert report["verdict"] == "pass" and report["exit_code"] == 0 and report["run_id"]
    got = statuses(result, "dev")
    assert set(got) >= EXPECTED_OK, got
    assert {got[name] for name in EXPECTED_OK} == {"ok"}
    assert result.checks("dev")["http: backend /api/version"]["reason"].endswith("matches VERSION")


def test_a_healthy_check_costs_at_most_two_commands_on_the_host(healthy_stack):
    """The round-trip budget (issue 11), from report.json, not from time: one batch of every read."""
    result = invoke("check", "--host", "dev,agent", "--json")
    assert result.rc == 0, result.stderr
    for name in ("dev", "agent"):
        host = result.json()["hosts"][name]
        assert host["remote_commands"] <= 2, (name, host["remote_commands"])
        assert host["connect_seconds"] > 0


def test_check_all_prints_a_green_table(healthy_stack):
    result = invoke("check", "--host", "all")
    assert result.rc == 0, result.stdout + result.stderr
    for host in ("dev", "agent", "local", "dev-wan", "dev-via-bastion"):  # dev through the link, the bastion
        assert f"{host}: PASS" in result.stdout
    assert "verdict: PASS" in result.stdout


def test_a_stopped_container_fails_the_check_by_name_and_other_checks_still_run(healthy_stack):
    scanner = container_of("scanner")
    docker("stop", "-t", "1", scanner)
    result = invoke("check", "--host", "dev,local", "--json")
    assert result.rc == 1
    for host in ("dev", "local"):
        failed = result.checks(host)["containers: scanner"]
        assert failed["status"] == "failed"
        assert "sample_scanner_1 is exited" in failed["reason"]
        # continue-on-error: the checks after the failing one still ran and passed
        assert result.checks(host)["http: backend /api/version"]["status"] == "ok"
        assert result.json()["hosts"][host]["verdict"] == "fail"


def test_an_unhealthy_container_fails_the_check_with_its_health_output(healthy_stack):
    backend = container_of("backend")
    docker("exec", backend, "touch", "/tmp/force-unhealthy")
    wait_for(lambda: health(backend) == "running/unhealthy", "backend to turn unhealthy")
    result = invoke("check", "--host", "dev", "--json")
    assert result.rc == 1
    reason = result.checks("dev")["containers: backend"]["reason"]
    assert "sample_backend_1 is unhealthy" in reason
    assert statuses(result, "dev")["containers: frontend"] == "ok"
    # A failed host gets its incident bundle in the run directory.
    bundle = ROOT / "artifacts" / result.json()["run_id"] / "dev"
    assert (bundle / "inspect.json").is_file() and (bundle / "logs" / "sample_backend_1.log").is_file()


def test_a_missing_expected_container_is_named(healthy_stack):
    docker("rm", "-f", container_of("frontend"))
    result = invoke("check", "--host", "dev", "--json")
    assert result.rc == 1
    assert result.checks("dev")["containers: frontend"]["reason"] == \
        "expected service 'frontend' has no container in project sample"


def test_an_unexpected_container_in_the_project_is_named(healthy_stack):
    name = "sample_intruder_1"
    docker("run", "-d", "--name", name, "--network", "host", "--label", "com.docker.compose.project=sample",
           "--label", "com.docker.compose.service=intruder", spec.BASE_IMAGE, "sleep", "600")
    try:
        result = invoke("check", "--host", "dev", "--json")
        assert result.rc == 1
        failed = result.checks("dev")[f"containers: unexpected {name}"]
        assert failed["status"] == "failed" and "intruder" in failed["reason"]
        assert {statuses(result, "dev")[f"containers: {s}"] for s in spec.STACK_SERVICES} == {"ok"}
    finally:
        docker("rm", "-f", name, check=False)


def test_local_and_ssh_give_the_same_verdicts(healthy_stack):
    result = invoke("check", "--host", "dev,local", "--json")
    assert result.rc == 0, result.stderr
    dev, local = statuses(result, "dev"), statuses(result, "local")
    assert dev == local
    assert "ssh:" in result.checks("dev")["reachable"]["reason"]
    assert "local:" in result.checks("local")["reachable"]["reason"]


def test_check_changes_nothing_on_the_host(healthy_stack):
    def snapshot() -> tuple:
        containers = docker("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Image}} {{.Names}}").stdout
        restarts = docker("inspect", "--format", "{{.Name}} {{.RestartCount}} {{.State.StartedAt}}",
                          *[container_of(s) for s in spec.STACK_SERVICES]).stdout
        files = {p: hashlib.sha256(p.read_bytes()).hexdigest()
                 for p in sorted(Path(spec.DEV.stack_dir).rglob("*")) if p.is_file() and ".git/" not in str(p)}
        return containers, restarts, files, sorted(Path("/tmp").glob(".shakedown-*"))

    before = snapshot()
    assert invoke("check", "--host", "dev,local").rc == 0
    assert snapshot() == before


def test_lab_status_json_gives_scripts_the_documented_keys(lab_up):
    result = invoke("lab.status", "--json")
    assert result.rc == 0, result.stderr
    hosts = {h["name"]: h for h in result.json()["hosts"]}
    assert set(hosts) == {"dev", "agent"}
    dev = hosts["dev"]
    assert dev["ssh"] == {"host": "127.0.0.1", "port": 2222, "user": "sd-dev", "key": str(spec.CLIENT_KEY)}
    assert dev["docker_host"] == "unix:///var/lib/shakedown-lab/dev/docker.sock"
    assert (dev["stack_dir"], dev["compose_project"], dev["up"]) == (str(spec.DEV.stack_dir), "sample", True)
    assert dev["repo"].endswith("app.git") and hosts["agent"]["up"] is True
    link = dev["link"]
    assert (link["address"], link["state"], link["delay_ms"], link["up"]) == \
        ({"host": "127.0.0.1", "port": 2322}, "open", 20, True)
    assert link["control_file"] == str(spec.LINK.run_dir / "control.json") and hosts["agent"]["link"] is None


def test_the_lab_inventory_matches_the_lab(lab_up):
    from orchestrator.config import inventory

    inv = inventory.load()
    for lab_host in spec.HOSTS:
        vars_ = inv.hosts[lab_host.name].vars
        assert (vars_["ansible_host"], vars_["ansible_port"], vars_["ansible_user"]) == \
            (lab_host.ssh_host, lab_host.ssh_port, lab_host.user)
        assert vars_["ssh_known_hosts_file"] == str(spec.KNOWN_HOSTS)
    assert inv.hosts["local"].vars["docker_host"] == spec.DEV.docker_host
    assert inv.hosts["dev"].vars["stack_dir"] == str(spec.DEV.stack_dir)
    wan = inv.hosts[spec.LINK.name]
    assert (wan.get("ansible_host"), wan.get("ansible_port"), wan.get("ansible_user")) == \
        (spec.LINK.listen_host, spec.LINK.listen_port, spec.LINK.target.user)
    # The link forwards to dev's sshd: known_hosts lists dev's key under the link's address too.
    known = dict(line.split(" ", 1) for line in spec.KNOWN_HOSTS.read_text().splitlines())
    assert known[spec.LINK.known_hosts_name] == known[spec.DEV.known_hosts_name]
