"""What matrix_stack.sh did to a stack (a restart, a fault's inject or heal): each container of the project
before and after (service, id, status, start time), so the caller can prove what happened rather than trust
the command's exit code (a restart that restarted nothing, a stop that stopped nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Seen:
    service: str
    id: str
    name: str
    status: str
    started: str


@dataclass
class StackOp:
    before: list[Seen] = field(default_factory=list)
    after: list[Seen] = field(default_factory=list)
    output: str = ""  # docker's or compose's own lines

    def not_restarted(self) -> list[str]:
        """Services with a container that is not the same one, running again with a new start time."""
        now = {c.id: c for c in self.after}
        return sorted({c.service for c in self.before
                       if c.id not in now or now[c.id].status != "running" or now[c.id].started == c.started})

    def status(self, service: str) -> list[str]:
        """The statuses of the service's containers after the operation ([] when it has none)."""
        return sorted(c.status for c in self.after if c.service == service)

    def names(self, service: str) -> list[str]:
        """The names of the service's containers before the operation."""
        return sorted(c.name for c in self.before if c.service == service)

    def public(self) -> dict[str, object]:
        return {"before": {c.service: c.status for c in self.before},
                "after": {c.service: c.status for c in self.after}}


def parse(text: str) -> StackOp:
    done = StackOp()
    lines = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        fields = rest.split(" ")
        if kind in ("BEFORE", "AFTER") and len(fields) == 5:
            seen = Seen(fields[0], fields[1][:12], fields[2].lstrip("/"), fields[3], fields[4])
            (done.before if kind == "BEFORE" else done.after).append(seen)
        else:
            lines.append(line)
    done.output = "\n".join(lines)
    return done
