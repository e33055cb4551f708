"""The one error type of the lab, carrying the exit code the CLI maps it to."""

from __future__ import annotations

from orchestrator.errors import EXIT_BAD_INPUT, EXIT_INFRA, ShakedownError

__all__ = ["EXIT_BAD_INPUT", "EXIT_INFRA", "LabError"]


class LabError(ShakedownError):
    """The lab could not be brought to its specified state.

    exit_code 2: this machine lacks something the lab needs (root, packages); 3: a service would not start.
    """

    def __init__(self, message: str, exit_code: int = EXIT_INFRA):
        super().__init__(message)
        self.exit_code = exit_code
