"""What matrix_apply.sh did: which keys it set, and which services compose recreated (container ids before and
after), so a scenario can prove that only the affected containers changed and that applying again changes
nothing."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Applied:
    before: dict[str, list[str]] = field(default_factory=dict)  # service -> container ids
    after: dict[str, list[str]] = field(default_factory=dict)
    changed_keys: list[str] = field(default_factory=list)  # "file key" set to a new value
    unchanged_keys: list[str] = field(default_factory=list)
    output: str = ""  # compose's own lines (no config content)

    def recreated(self) -> list[str]:
        """Services whose containers are not the same ones as before (recreated, removed or added)."""
        return sorted(s for s in set(self.before) | set(self.after)
                      if sorted(self.before.get(s, [])) != sorted(self.after.get(s, [])))

    def public(self) -> dict[str, object]:
        return {"recreated": self.recreated(), "changed_keys": self.changed_keys,
                "unchanged_keys": self.unchanged_keys, "services_after": sorted(self.after)}


def parse(text: str) -> Applied:
    done = Applied()
    lines = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("BEFORE", "AFTER") and rest.count(" ") == 1:
            service, container = rest.split(" ")
            (done.before if kind == "BEFORE" else done.after).setdefault(service, []).append(container[:12])
        elif kind in ("SET", "UNCHANGED"):
            (done.changed_keys if kind == "SET" else done.unchanged_keys).append(rest)
        else:
            lines.append(line)
    done.output = "\n".join(lines)
    return done
