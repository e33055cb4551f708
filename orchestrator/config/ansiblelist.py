"""The resolved inventory in the JSON shape of `ansible-inventory --list`, so users see what shakedown will use
and tests can hold it against Ansible's own output.

    {"_meta": {"hostvars": {host: {merged vars}}}, "all": {"children": [...]},
     group: {"hosts": [direct hosts], "children": [child groups]}, ...}

As Ansible prints it: a group with neither hosts nor children is left out (but still named by its parent),
`all` lists no hosts (hosts in no other group are in `ungrouped`), a host with no variables has no hostvars
entry, and the names Ansible adds itself (inventory_hostname ...) are not variables. With a host pattern
(Ansible's --limit), only the selected hosts are listed and only they have hostvars.
"""

from __future__ import annotations

from typing import Any

from orchestrator.config.inventory import Inventory

INTERNAL = {"inventory_hostname", "inventory_hostname_short", "inventory_dir", "inventory_file", "groups",
            "group_names", "omit", "playbook_dir"}


def listing(inv: Inventory, pattern: str | None = None) -> dict[str, Any]:
    chosen = [h.name for h in inv.select(pattern)] if pattern else list(inv.hosts)
    shown = set(chosen)
    out: dict[str, Any] = {"_meta": {"hostvars": {}}}
    seen: set[str] = set()

    def group(name: str) -> None:
        g = inv.groups[name]
        entry: dict[str, Any] = {}
        hosts = [h for h in g.hosts if h in shown] if name != "all" else []
        if hosts:
            entry["hosts"] = hosts
        if g.children:
            entry["children"] = list(g.children)
        if entry:
            out[name] = entry
        for child in g.children:
            if child not in seen:
                seen.add(child)
                group(child)

    group("all")
    for name in chosen:
        hostvars = {k: v for k, v in inv.hosts[name].vars.items() if k not in INTERNAL}
        if hostvars:
            out["_meta"]["hostvars"][name] = hostvars
    return out
