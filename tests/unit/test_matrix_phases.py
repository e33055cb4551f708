"""The pure parts of `invoke matrix --lifecycle/--faults`: which services one changed axis may recreate, and
when the link faults cannot run (always a SKIPPED with the reason, never silently)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.config import inventory
from orchestrator.ops.matrix import model
from orchestrator.procedures.matrix import faults, lifecycle

LAB = Path(__file__).resolve().parents[2] / "inventory" / "lab.yml"


def _expect(values: dict[str, str]) -> dict:
    return model.load().expect.render(values)


BASE = {"backend_mode": "normal", "pool": "4", "scanner": "on", "frontend_secure": "true"}


def test_affected_is_the_services_whose_env_differs_and_those_that_come_or_go():
    assert lifecycle.affected(_expect(BASE), _expect({**BASE, "backend_mode": "readonly"})) == ["backend"]
    assert lifecycle.affected(_expect(BASE), _expect({**BASE, "frontend_secure": "false"})) == ["frontend"]
    # The scanner has no env in the matrix's expect: it is affected by disappearing, in both directions.
    assert lifecycle.affected(_expect(BASE), _expect({**BASE, "scanner": "off"})) == ["scanner"]
    assert lifecycle.affected(_expect({**BASE, "scanner": "off"}), _expect(BASE)) == ["scanner"]
    assert lifecycle.affected(_expect(BASE), _expect(BASE)) == []


def test_the_lab_inventory_has_the_link_and_a_host_to_heal_it_from(monkeypatch):
    monkeypatch.setattr(faults.link, "state", lambda: {"state": "open"})
    inv = inventory.load(LAB)
    why, wan, local = faults._link_hosts(inv.hosts["dev"], inv)
    assert (why, wan.name, local.name) == ("", "dev-wan", "local")


def test_without_the_link_host_or_a_local_host_the_link_faults_say_why(tmp_path, monkeypatch):
    monkeypatch.setattr(faults.link, "state", lambda: {"state": "open"})
    text = LAB.read_text()
    no_wan = tmp_path / "no-wan.yml"
    no_wan.write_text(text.replace("        dev-wan:", "        dev-far:"))
    inv = inventory.load(no_wan)
    assert "no link host 'dev-wan'" in faults._link_hosts(inv.hosts["dev"], inv)[0]
    no_local = tmp_path / "no-local.yml"
    no_local.write_text(text.replace("ansible_connection: local", "ansible_connection: ssh"))
    inv = inventory.load(no_local)
    assert "no local host" in faults._link_hosts(inv.hosts["dev"], inv)[0]
    inv = inventory.load(LAB)
    assert "not to agent's" in faults._link_hosts(inv.hosts["agent"], inv)[0]
    monkeypatch.setattr(faults.link, "state", lambda: None)
    assert "relay is not running" in faults._link_hosts(inv.hosts["dev"], inv)[0]
