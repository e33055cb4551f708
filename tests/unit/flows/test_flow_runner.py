"""The flow runner against an in-memory marketplace (httpx.MockTransport): checkpoints, known gaps, strict,
wrong recipients, 429 Retry-After, a target that keeps refusing or cannot be reached, --abort-on-failure, the
report against its schema, and the run layer's result (one check per flow x checkpoint)."""

from __future__ import annotations

import json
import time

import httpx
import jsonschema
import pytest

from orchestrator import redact
from orchestrator.ops.flows import loader, report, runner
from orchestrator.procedures.flow.checks import run_result
from tests.unit.flows.fake import ADMIN, Fake

FLOW = loader.load(loader.resolve("marketplace"))
ALL_DEFECTS = {"incomplete_related_id", "legacy_payments_500", "no_delivery_notifications", "accepted_to_all_sellers"}


def ramp(fake: Fake, *, levels=(1, 2), rounds=2, mode="live", strict=False, abort=False, deadline=60.0,
         transport: httpx.AsyncBaseTransport | None = None) -> runner.RunRecord:
    settings = runner.Settings("http://fake.test", mode, list(levels), rounds, deadline, strict, abort, dict(ADMIN))
    return runner.run(FLOW, settings, transport=transport or fake.transport())


def outcomes(record, ident):
    return {c.outcome for f in record.flows() for c in f.checkpoints if c.id == ident}


def test_a_clean_run_passes_every_flow_and_reports_the_known_gaps_fixed():
    record = ramp(Fake())
    assert [len(lv.flows) for lv in record.levels] == [2, 4]
    assert all(f.passed(False) for f in record.flows())
    assert outcomes(record, "accepted-related-id") == {"fixed"} and outcomes(record, "delivery-sent") == {"found"}
    data = report.build(FLOW, record)
    assert data["checkpoints"] == {"found": 6 * 6, "missing": 0, "known_gap": 0, "fixed": 12}
    assert {g["state"] for g in data["known_gaps"]} == {"fixed"}
    level = data["levels"][0]
    assert level["flows"] == {"passed": 2, "failed": 0, "cancelled": 0}
    assert level["endpoints"]["POST /api/requests/{request_id}/offers"]["count"] == 2
    assert level["latency_ms"]["count"] == sum(e["count"] for e in level["endpoints"].values())
    assert level["seconds"] > 0 and level["cpu_seconds"] >= 0  # what `invoke bench` rates the client by
    assert all(f["ids"]["request_id"].startswith("req_") and f["ids"]["offer_id"].startswith("off_")
               for f in data["flows"])
    assert run_result("dev", FLOW, record).exit_code == 0


def test_known_gaps_are_reported_not_failing_and_strict_fails_them():
    fake = Fake(defects={"incomplete_related_id", "legacy_payments_500"})
    record = ramp(fake, levels=(1,), rounds=1)
    assert outcomes(record, "accepted-related-id") == {"known_gap"}
    assert outcomes(record, "legacy-payments") == {"known_gap"}
    missing = next(c for c in record.flows()[0].checkpoints if c.id == "accepted-related-id")
    assert "seen offer.accepted with relatedId ['off_" in missing.detail and missing.defect == "incomplete_related_id"
    result = run_result("dev", FLOW, record)
    assert result.exit_code == 0
    statuses = {c.name.split(": ", 1)[1]: c.status for c in result.hosts["dev"].checks}
    assert statuses["accepted-related-id (seller1)"] == "skipped"
    strict = ramp(Fake(defects={"incomplete_related_id"}), levels=(1,), rounds=1, strict=True)
    assert run_result("dev", FLOW, strict).exit_code == 1
    assert not strict.flows()[0].passed(True)


def test_a_missing_required_checkpoint_fails_the_run():
    record = ramp(Fake(defects={"no_delivery_notifications"}), levels=(1,), rounds=1)
    (check,) = [c for c in run_result("dev", FLOW, record).hosts["dev"].checks if "delivery-sent" in c.name]
    assert check.status == "failed" and "no delivery.sent notification at all" in check.reason
    assert run_result("dev", FLOW, record).exit_code == 1


def test_a_wrong_recipient_is_counted_and_fails_the_run():
    record = ramp(Fake(defects={"accepted_to_all_sellers"}), levels=(2,), rounds=1)
    data = report.build(FLOW, record)
    assert data["wrong_recipient"] == 2
    assert run_result("dev", FLOW, record).exit_code == 1
    assert outcomes(record, "accepted-related-id") == {"fixed"}  # seller 1 still got its own


def test_abort_on_failure_stops_at_the_first_missing_required_checkpoint():
    record = ramp(Fake(defects={"no_delivery_notifications"}), levels=(1, 2), rounds=3, abort=True)
    assert record.aborted and "delivery-sent" in record.aborted
    assert len(record.levels) == 1 and len(record.flows()) == 1


def test_429_answers_wait_out_retry_after_and_are_counted():
    fake = Fake(refuse_every=4, retry_after="0")
    record = ramp(fake, levels=(1,), rounds=1)
    assert record.blocked is None and all(f.passed(False) for f in record.flows())
    assert record.rate_limited == fake.limited > 0
    assert report.build(FLOW, record)["rate_limited"] == fake.limited


def test_a_target_that_keeps_refusing_ends_the_run_blocked_not_failed():
    fake = Fake(rate_limit=5, retry_after="0")
    record = ramp(fake, levels=(1, 2), rounds=1)
    assert record.blocked and "5 consecutive 429" in record.blocked and "fresh rate-limit window" in record.blocked
    assert len(record.levels) == 1 and record.levels[0].cancelled == 1
    result = run_result("dev", FLOW, record)
    assert result.exit_code == 3 and result.hosts["dev"].checks[-1].name == "run: blocked"


def test_a_retry_after_past_the_deadline_is_blocked_at_once():
    started = time.monotonic()
    record = ramp(Fake(rate_limit=3, retry_after="30"), levels=(1,), rounds=1, deadline=5)
    assert record.blocked and "past the run's deadline" in record.blocked
    assert time.monotonic() - started < 3


def test_an_unreachable_target_is_blocked():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    record = ramp(Fake(), transport=httpx.MockTransport(refuse))
    assert record.blocked and "unreachable" in record.blocked
    assert run_result("dev", FLOW, record).exit_code == 3


def test_modes_choose_the_steps():
    fake = Fake()
    status = ramp(fake, levels=(1,), rounds=1, mode="status")
    assert status.flows()[0].passed(False) and not fake.requests  # read-only: nothing created
    routes = set(status.levels[0].samples)
    assert routes == {"POST /api/auth/login", "GET /api/me", "GET /api/notifications", "GET /healthz"}
    record = ramp(Fake(), levels=(1,), rounds=1, mode="record")
    assert {c.id for c in record.flows()[0].checkpoints} == {"request-created", "offer-created"}


def test_tokens_and_passwords_are_known_to_the_redactor_and_absent_from_the_report():
    fake = Fake()
    record = ramp(fake, levels=(1,), rounds=1)
    text = json.dumps(report.build(FLOW, record)) + report.markdown(report.build(FLOW, record), "pass", 0)
    known = set(redact.current().values)
    assert set(fake.tokens) <= known and ADMIN["ADMIN_PASSWORD"] in known
    passwords = {u["password"] for u in fake.users.values()}
    assert passwords <= known
    assert not any(secret in text for secret in set(fake.tokens) | passwords)


@pytest.mark.parametrize("defects", [set(), ALL_DEFECTS])
def test_the_report_matches_its_published_schema(defects):
    schema = json.loads(report.SCHEMA_FILE.read_text())
    data = report.build(FLOW, ramp(Fake(defects=defects), levels=(1, 2), rounds=1))
    jsonschema.validate(data, schema)
    for key in ("levels", "checkpoints", "wrong_recipient", "rate_limited", "percentile_method"):
        assert key in data
    assert data["percentile_method"].startswith("nearest-rank")
