"""How an e2e reports: the GREEN/RED verdict with reasons, the restore's proof, and the run's fields."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from orchestrator.run.console import table

if TYPE_CHECKING:
    from orchestrator.ops.e2e.session import Session
    from orchestrator.procedures.e2e.runner import Cycle, E2EOptions

WORD_STYLE = {"GREEN": "bold green", "RED": "bold red", "ERROR": "bold magenta"}


def e2e_fields(outcome: Cycle, session: Session, opts: E2EOptions) -> dict[str, Any]:
    """Top-level fields added to the --json / report.json shape (the shared keys keep their meaning)."""
    restored = outcome.restored
    return {
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "e2e": {
            "result": outcome.word,
            "host": session.cfg.host,
            "branch": session.branch,
            "commit": session.commit,
            "repo": session.repo,
            "mode": opts.mode,
            **({"matrix": outcome.matrix} if outcome.matrix is not None else {}),
            "interrupted": outcome.interrupted,
            "lease_seconds": None if outcome.lease_seconds is None else round(outcome.lease_seconds, 3),
            "kept": outcome.kept,
            "restore": None if restored is None else {
                "ok": restored.ok, "undone": restored.undone, "verified": restored.verified,
                "problems": restored.problems, "lease": restored.lease,
                "hosts": {h: {"before": _public(v["before"]), "after": _public(v["after"])}
                          for h, v in restored.before_after.items()},
            },
        },
    }


def _public(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts fit for an artifact: secret fingerprints are replaced by the key names they cover."""
    shown = dict(facts)
    shown["secrets"] = {path: sorted(keys or {}) for path, keys in facts.get("secrets", {}).items()}
    return shown


def reasons(outcome: Cycle) -> list[str]:
    found = []
    if outcome.result is not None:
        for host in outcome.result.hosts.values():
            found += [f"{c.name}: {c.reason}" for c in host.checks if c.status in ("failed", "error")]
    if outcome.interrupted:
        found.append("interrupted by SIGINT/SIGTERM")
    return found


def print_console(outcome: Cycle, session: Session, opts: E2EOptions, run_dir: Path, console: Console) -> None:
    assert outcome.result is not None
    console.print(table(outcome.result, f"shakedown e2e --branch {opts.branch} --host {session.cfg.host}"))
    restored = outcome.restored
    if outcome.kept:
        console.print(f"[bold yellow]KEPT:[/] {session.cfg.host} still runs {opts.branch}; lease and journal "
                      f"remain. Restore with: invoke restore --host {session.cfg.host}", highlight=False)
    elif restored is not None and restored.ok:
        console.print(f"[green]restored:[/] {'; '.join(restored.verified) or 'nothing had changed'}",
                      highlight=False)
    elif restored is not None:
        console.print(f"[bold red]RESTORE NOT VERIFIED:[/] {'; '.join(restored.problems)}", highlight=False)
    why = reasons(outcome)
    word = outcome.word
    line = f"[{WORD_STYLE[word]}]{word}[/] {opts.branch} on {session.cfg.host} ({session.commit[:12]})"
    if why:
        line += " — " + "; ".join(why)
    console.print(line, highlight=False)
    console.print(f"exit {outcome.exit_code}, run {outcome.run_id}, report {run_dir}", highlight=False)
