"""A flow run as the run layer's result: one check per flow x checkpoint (and per wrong-recipient check, and per
flow's steps), on one HostReport named after the target; a blocked run is an error check (exit 3)."""

from __future__ import annotations

from orchestrator.ops.flows.model import Flow
from orchestrator.ops.flows.outcomes import FIXED, KNOWN_GAP, status
from orchestrator.ops.flows.records import CheckpointRecord, FlowRecord, RunRecord
from orchestrator.run.results import CheckRecord, HostReport, RunResult


def run_result(host: str, flow: Flow, run: RunRecord) -> RunResult:
    report = HostReport(host)
    for record in run.flows():
        report.checks += _flow_checks(record, run.strict)
    if run.blocked:
        report.checks.append(CheckRecord("run: blocked", "error", run.blocked))
    if not run.flows() and not run.blocked:
        report.checks.append(CheckRecord("run: flows", "error", "no flow ran"))
    return RunResult({host: report})


def _flow_checks(record: FlowRecord, strict: bool) -> list[CheckRecord]:
    label = record.label
    steps = (CheckRecord(f"{label}: steps", "failed", record.failed_step, record.seconds) if record.failed_step else
             CheckRecord(f"{label}: steps", "ok", f"{record.requests} requests in {record.seconds:.2f}s",
                         record.seconds, data={"ids": record.ids}))
    checks = [steps]
    checks += [_checkpoint(label, c, strict) for c in record.checkpoints]
    for w in record.wrong:
        reason = (f"{w.actor} ({w.role}) got {w.found} notification(s) matching {w.expected} it must not get"
                  if w.found else f"{w.actor} ({w.role}) got none, as it should")
        checks.append(CheckRecord(f"{label}: wrong recipient {w.id} ({w.actor})", "failed" if w.found else "ok",
                                  reason, data={"wrong_recipient": w.found}))
    return checks


def _checkpoint(label: str, c: CheckpointRecord, strict: bool) -> CheckRecord:
    reason = c.detail
    if c.outcome == KNOWN_GAP:
        reason = f"known gap ({c.defect}){' under --strict' if strict else ''}: {c.detail}"
    elif c.outcome == FIXED:
        reason = f"FIXED: known gap {c.id} ({c.defect}) now holds: remove it from known_gaps"
    return CheckRecord(f"{label}: {c.id} ({c.actor})", status(c.outcome, strict), reason, c.seconds,
                       data={"outcome": c.outcome, "unread": c.unread, "expected_related_id":
                             c.expected.get("relatedId")})
