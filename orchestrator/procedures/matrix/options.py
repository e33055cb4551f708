"""What `invoke matrix` was asked to do, parsed and checked by the cli (flags) before a procedure sees it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MatrixOptions:
    host: str = "dev"
    inventory: str | None = None
    matrix_file: str | None = None  # None: playbooks/matrix.yml
    list_only: bool = False  # --list: print the matrix (table, or JSON with --json); contact nothing
    scenarios: list[str] | None = None  # --scenario a,b: only these (with --shard: the intersection)
    shard: tuple[int, int] | None = None  # --shard I/N
    lifecycle: bool = False
    faults: bool = False
    keep: bool = False
    merge: list[str] = field(default_factory=list)  # --merge DIR ...: combine these shard runs' reports
    as_json: bool = False

    def run_only_flags(self) -> list[str]:
        """The flags that only mean something when scenarios are applied on the host."""
        return [flag for flag, on in (("--lifecycle", self.lifecycle), ("--faults", self.faults),
                                      ("--keep", self.keep)) if on]
