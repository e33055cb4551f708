"""Secret files on a host (here: the `local` host) become the redactor's known values: every value except
the plainly-not-secret ones under keys that do not sound secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator import redact
from orchestrator.host import Host
from orchestrator.ops import secretfiles
from orchestrator.run import rundir as report

# Assembled at run time so that secret scanners never see a whole webhook URL in this file.
SLACK_HOOK = "https://hooks.slack.com/services/" + "T0123ABCD/B0456EFGH/" + "abcdEFGHijklMNOPqrstUVWX"
DISCORD_HOOK = "https://discord.com/api/webhooks/123456789012345678/" + "Xy_9-aBcDeFgHiJk" * 4


@pytest.fixture(autouse=True)
def _fresh_known_values(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """register() is process-wide: each test starts from no known values and leaves none behind."""
    monkeypatch.setattr(redact, "_KNOWN", {})
    monkeypatch.setattr(redact, "_CURRENT", [redact.Redactor()])
    yield


@pytest.mark.parametrize("url", [SLACK_HOOK, DISCORD_HOOK, "https://hc-ping.example.com/eb095278-f28d-448d-87fb-7b75c171a6aa",
                                 "https://api.example.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/send"])
def test_a_url_whose_path_carries_a_token_is_hidden_under_any_key(url):
    assert secretfiles.worth_hiding("NOTIFY_URL", url)


@pytest.mark.parametrize(("key", "value"), [
    ("BACKEND_URL", "http://backend:8080/api/v1/health"), ("REGISTRY", "https://registry.example.com/v2/library"),
    ("PORT", "8080"), ("DEBUG", "false"), ("DATA_DIR", "/var/lib/app/data"),
    ("DOCS", "https://docs.example.com/guides/getting-started/install"),
])
def test_plainly_not_secret_values_under_plain_keys_stay_readable(key, value):
    assert not secretfiles.worth_hiding(key, value)


def test_a_webhook_in_a_secret_file_becomes_a_known_value_the_sweep_looks_for(local_host: Host, tmp_path: Path):
    env = tmp_path / "stack.env"
    env.write_text(f"PORT=8080\nNOTIFY_URL={SLACK_HOOK}\nDB_PASSWORD=Zq7vN2pX9rT4\n")
    found = secretfiles.load(local_host, [str(env)])
    assert found == {"NOTIFY_URL": SLACK_HOOK, "DB_PASSWORD": "Zq7vN2pX9rT4"}
    assert redact.current().text(f"posting to {SLACK_HOOK}\n") == "posting to [REDACTED:NOTIFY_URL]\n"
    run_dir = tmp_path / "run"
    (run_dir / "dev").mkdir(parents=True)
    (run_dir / "dev" / "app.log").write_text(f"notify {SLACK_HOOK}\n")  # written around the redactor
    assert report.sweep(run_dir) == [f"{run_dir / 'dev' / 'app.log'}: NOTIFY_URL"]
