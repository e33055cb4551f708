"""lab.up's rule for a dev host borrowed by an e2e, decided from a state_dir alone (no lab needed)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.config import inventory
from orchestrator.lab import borrow, spec
from orchestrator.ops.e2e import lease

LAB = Path(__file__).resolve().parents[2] / "inventory" / "lab.yml"
NOW = 1000.0


def _state(tmp_path: Path, held: lease.Lease | None = None, journal: bool = False) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    if held is not None:
        (state / lease.LEASE_FILE).write_text(held.to_json() + "\n")
    if journal:
        (state / lease.JOURNAL_FILE).write_text('{"seq": 1, "op": "begin", "run_id": "r1"}\n')
    return state


def test_a_free_host_or_a_stale_lease_is_not_borrowed(tmp_path: Path) -> None:
    assert borrow.why_borrowed(tmp_path / "missing", NOW) is None
    expired = lease.new("r1", "feature-good", NOW - 700.0, 600.0)
    assert borrow.why_borrowed(_state(tmp_path, expired), NOW) is None


def test_a_live_lease_borrows_the_host_and_names_its_holder(tmp_path: Path) -> None:
    held = lease.new("r1", "feature-good", NOW, 600.0)
    why = borrow.why_borrowed(_state(tmp_path, held, journal=True), NOW)  # a running e2e keeps a journal too
    assert why is not None and why.startswith("leased by ") and "run r1" in why
    assert "invoke restore" not in why


def test_an_unfinished_journal_borrows_the_host_and_points_at_restore(tmp_path: Path) -> None:
    expired = lease.new("r1", "feature-good", NOW - 700.0, 600.0)
    for held in (None, expired):  # an interrupted run's lease, if any, is no longer live
        state = tmp_path / ("with-lease" if held else "no-lease")
        state.mkdir()
        why = borrow.why_borrowed(_state(state, held, journal=True), NOW)
        assert why is not None and "invoke restore --host dev" in why and "journal.jsonl" in why


def test_the_message_says_what_was_left_alone() -> None:
    text = borrow.left_alone("leased by someone")
    assert text.startswith("dev: borrowed by an e2e (leased by someone)")
    for what in ("stack", str(spec.DEV.stack_dir), str(spec.REPO_DIR), str(spec.DATA_DIR), str(spec.STATE_DIR),
                 f"the agent's worker config {spec.WORKER_CONFIG}"):
        assert what in text, what


def test_the_lease_covers_what_inventory_says_an_e2e_on_dev_borrows() -> None:
    dev = inventory.load(LAB).hosts["dev"]
    assert dev.get("state_dir") == str(spec.STATE_DIR)
    assert {(p["host"], p["file"]) for p in dev.get("e2e_peers")} == \
        {(host.name, str(path)) for host, path, _ in borrow.PEER_FILES}
