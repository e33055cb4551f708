"""Whether an e2e has borrowed the dev host, in which case lab.up must leave what the run borrowed alone.

An `invoke e2e` on dev holds dev's lease (STATE_DIR/lease.json) while it deploys a branch into the stack and
repoints its peers (inventory/lab.yml e2e_peers: the agent's worker config); it journals each change
(STATE_DIR/journal.jsonl) to put the host back afterwards, and an interrupted run leaves that journal for
`invoke restore`. A lab.up that "repaired" the stack or those files then would change the host under the run
(or under its restore) and turn a good branch red: while dev is borrowed, lab.up only (re)starts daemons.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.ops.e2e import lease

from .spec import AGENT, DATA_DIR, DEV, REPO_DIR, STATE_DIR, WORKER_CONFIG, LabHost

# The files an e2e on dev borrows on other hosts, with what each is (inventory/lab.yml e2e_peers; a unit test
# keeps the two equal).
PEER_FILES: tuple[tuple[LabHost, Path, str], ...] = ((AGENT, WORKER_CONFIG, "worker config"),)

# What lab.up leaves alone while dev is borrowed: everything an e2e deploys into, snapshots or restores.
LEFT_ALONE = (
    f"the stack (no deploy or repair) and its checkout, .env and config.json in {DEV.stack_dir}",
    f"the lab repo {REPO_DIR} (the run fetches its branch from it)",
    f"dev's data and state dirs {DATA_DIR}, {STATE_DIR}",
    *(f"the {host.name}'s {what} {path} (the run's borrowed peer)" for host, path, what in PEER_FILES),
)


def why_borrowed(state_dir: Path, now: float) -> str | None:
    """Why dev counts as borrowed (a live lease, else an unfinished journal), or None when it is free.

    now is this machine's clock, which is the dev host's clock: the lab runs here.
    """
    held, journal = lease.read_local(state_dir)
    if lease.live(held, now):
        return f"leased by {held.describe(now)}"
    if journal:
        return (f"an interrupted e2e left {state_dir / lease.JOURNAL_FILE}, so the host may still run its "
                f"branch: run `invoke restore --host {DEV.name}` to put it back, then lab.up again")
    return None


def left_alone(why: str) -> str:
    """The one line lab.up echoes instead of repairing a borrowed dev host."""
    return (f"{DEV.name}: borrowed by an e2e ({why}); lab.up (re)started only the daemons and left alone: "
            f"{'; '.join(LEFT_ALONE)}")
