"""When readiness can no longer succeed, the containers module says so (final), so e2e is RED at once."""

from __future__ import annotations

import pytest

from orchestrator.modules.docker import _hopeless


def container(state: str = "running", restarts: int = 0, policy: str = "unless-stopped", exit_code: int = 0,
              restart_max: int = 0, service: str = "backend") -> dict:
    return {"name": f"sample_{service}_1", "service": service, "state": state, "restarts": restarts,
            "restart_policy": policy, "exit_code": exit_code, "restart_max": restart_max}


@pytest.mark.parametrize(("c", "why"), [
    (container("restarting", restarts=5), "restarted 5 times (limit 3): a crash loop"),
    (container("exited", policy="no", exit_code=1), "will not start it again"),
    (container("exited", policy="", exit_code=1), "'no' will not start it again"),
    (container("exited", policy="on-failure", exit_code=0), "will not start it again"),
    (container("exited", policy="on-failure", exit_code=2, restarts=3, restart_max=3), "will not start it again"),
])
def test_what_waiting_cannot_fix(c, why):
    assert any(why in line for line in _hopeless(["backend"], [c], 3))


@pytest.mark.parametrize("c", [
    container("running", restarts=2),  # still within max_restarts
    container("restarting", restarts=1),
    container("exited", policy="unless-stopped", exit_code=1),  # the engine will start it again
    container("exited", policy="on-failure", exit_code=2, restarts=1, restart_max=3),
    container("created"),  # compose may still start it
])
def test_what_may_still_come_right(c):
    assert _hopeless(["backend"], [c], 3) == []


def test_a_service_without_a_container_after_compose_is_final():
    assert _hopeless(["backend", "scanner"], [container()], 3) == ["service 'scanner' has no container"]
